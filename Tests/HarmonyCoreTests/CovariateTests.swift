import XCTest
@testable import HarmonyCore

final class CovariateTests: XCTestCase {
    func testLevelsAreSortedByBytesAndCodesFollowThem() {
        let c = Covariate(name: "batch", labels: ["b", "B", "a", "b"])
        XCTAssertEqual(c.levels, ["B", "a", "b"])
        XCTAssertEqual(c.codes, [2, 0, 1, 2])
        XCTAssertEqual(c.levelCounts, [1, 1, 2])
    }
}
