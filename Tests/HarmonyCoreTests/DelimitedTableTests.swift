import XCTest
@testable import HarmonyCore

final class DelimitedTableTests: XCTestCase {
    func testParseDoubleIsCorrectlyRoundedAndStrict() {
        XCTAssertEqual(DelimitedTable.parseDouble("0.1"), 0.1)
        XCTAssertEqual(DelimitedTable.parseDouble("-1.5e-3"), -1.5e-3)
        XCTAssertNil(DelimitedTable.parseDouble("1.0x"))
        XCTAssertNil(DelimitedTable.parseDouble(""))
    }
}
