import XCTest
@testable import HarmonyCore

final class FitDesignTests: XCTestCase {
    func testLevelsAndGroupsOfTwoCovariates() {
        let batch = Covariate(name: "batch", labels: ["a", "b", "a", "c", "b", "a"])
        let lane = Covariate(name: "lane", labels: ["x", "x", "y", "y", "x", "x"])
        let design = FitDesign(covariates: [batch, lane], cells: 6)
        XCTAssertEqual(design.levelOffsets, [0, 3, 5])
        XCTAssertEqual(design.levelCounts, [3, 2, 1, 4, 2])
        XCTAssertEqual(design.levelCovariate, [0, 0, 0, 1, 1])
        XCTAssertEqual(design.levelFractions[0], 0.5)
        XCTAssertEqual(Array(design.cellLevels[4..<6]), [0, 4])   // cell 2: level a (0), lane y (4)
        // Groups in order of first appearance: (a,x), (b,x), (a,y), (c,y).
        XCTAssertEqual(design.groupLevels, [0, 3, 1, 3, 0, 4, 2, 4])
        XCTAssertEqual(design.groupCounts, [2, 2, 1, 1])
        XCTAssertEqual(design.groupOffsets, [0, 2, 4, 5, 6])
        XCTAssertEqual(design.groupOrder, [0, 5, 1, 4, 2, 3])
    }

    func testOneCovariateGroupsAreLevels() {
        let design = FitDesign(covariates: [Covariate(name: "b", labels: ["q", "p", "q", "q"])], cells: 4)
        XCTAssertEqual(design.groupLevels, [0, 1])
        XCTAssertEqual(design.groupCounts, [1, 3])
        XCTAssertEqual(design.groupOrder, [1, 0, 2, 3])
    }
}
