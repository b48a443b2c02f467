import XCTest
@testable import HarmonyServer

final class LatencyRecorderTests: XCTestCase {
    func testPercentilesAreWithinOneSixteenthOfTheTrueValue() {
        var recorder = LatencyRecorder()
        XCTAssertEqual(recorder.percentile(0.99), 0)
        for value in 1...10_000 { recorder.record(microseconds: UInt64(value)) }
        XCTAssertEqual(recorder.total, 10_000)
        for (fraction, exact) in [(0.5, 5000.0), (0.9, 9000.0), (0.99, 9900.0), (0.999, 9990.0)] {
            let estimate = Double(recorder.percentile(fraction))
            XCTAssertGreaterThanOrEqual(estimate, exact, "p\(fraction)")
            XCTAssertLessThanOrEqual(estimate, exact * (1 + 1.0 / 16), "p\(fraction)")
        }
    }

    func testBucketsCoverEveryValueMonotonically() {
        var values = Set<UInt64>([0])
        for shift in 0..<63 {
            let power = UInt64(1) << UInt64(shift)
            values.formUnion([power, power + 1, power * 2 - 1])
        }
        var previous = -1
        for value in values.sorted() {
            let bucket = LatencyRecorder.bucket(of: value)
            XCTAssertGreaterThanOrEqual(bucket, previous, "value \(value)")
            XCTAssertGreaterThanOrEqual(LatencyRecorder.upperBound(of: bucket), value, "value \(value)")
            previous = bucket
        }
    }
}
