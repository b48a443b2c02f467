import XCTest
@testable import HarmonyCore

/// SeededLanes8 must reproduce SeededGenerator's streams lane by lane (the k-means race depends on it).
final class SeededLanes8Tests: XCTestCase {
    func testLanesMatchScalarStreams() {
        var lanes = SeededLanes8(seed: 42, firstStream: 7, step: 13)
        var scalars = (0..<8).map { SeededGenerator(seed: 42, stream: UInt64(7 + 13 * $0)) }
        for _ in 0..<1000 {
            let v = lanes.next()
            for lane in 0..<8 { XCTAssertEqual(v[lane], scalars[lane].next()) }
        }
    }
}
