import XCTest
@testable import HarmonyCore

final class DelimitedTableTests: XCTestCase {
    func testParseDoubleIsCorrectlyRoundedAndStrict() {
        XCTAssertEqual(DelimitedTable.parseDouble("0.1"), 0.1)
        XCTAssertEqual(DelimitedTable.parseDouble("-1.5e-3"), -1.5e-3)
        XCTAssertNil(DelimitedTable.parseDouble("1.0x"))
        XCTAssertNil(DelimitedTable.parseDouble(""))
    }

    func testCSVFieldsFollowRFC4180Quoting() {
        func split(_ text: String, _ sep: Character = ",") -> [String] {
            DelimitedTable.splitFields(ArraySlice(Array(text.utf8)), separator: UInt8(ascii: sep.unicodeScalars.first!))
        }
        XCTAssertEqual(split("c1,\"CD4+ T, naive\",3"), ["c1", "CD4+ T, naive", "3"])
        XCTAssertEqual(split("c2,\"say \"\"hi\"\"\",x"), ["c2", "say \"hi\"", "x"])
        XCTAssertEqual(split("\"\",,\"a\""), ["", "", "a"])
        XCTAssertEqual(split("a,b,"), ["a", "b", ""])
        XCTAssertEqual(split("id\t\"x\ty\"\tz", "\t"), ["id", "x\ty", "z"])
        XCTAssertEqual(split("plain\"quote,b"), ["plain\"quote", "b"])
    }

    func testAQuotedLabelWithACommaIsOneMetadataValue() throws {
        let dir = try IOTestDirectory()
        defer { dir.remove() }
        let path = try dir.write("meta.csv", "cell_id,cell_type\nc1,\"CD4+ T, naive\"\nc2,B\n")
        let table = try DelimitedTable.read(path)
        XCTAssertEqual(table.header, ["cell_id", "cell_type"])
        XCTAssertEqual(table.fields, [["CD4+ T, naive"], ["B"]])
    }
}
