import XCTest
@testable import HarmonyCore

/// The fast decimal parser must give exactly strtod's value and end position on every input.
final class DecimalParserTests: XCTestCase {
    private func assertSameAsStrtod(_ text: String, file: StaticString = #filePath, line: UInt = #line) {
        text.withCString { p in
            var end: UnsafeMutablePointer<CChar>? = nil
            let expected = strtod(p, &end)
            let (value, stop) = DecimalParser.parse(p)
            XCTAssertEqual(stop - p, UnsafePointer(end!) - p, "end of '\(text)'", file: file, line: line)
            if expected.isNaN {
                XCTAssertTrue(value.isNaN, text, file: file, line: line)
            } else {
                XCTAssertEqual(value.bitPattern, expected.bitPattern, "'\(text)': \(value) vs \(expected)", file: file, line: line)
            }
        }
    }

    func testEdgeCases() {
        for text in ["0", "-0", "+1", "1.", ".5", "-.5", "1e5", "1E-5", "1e", "1e+", "1e-x", "0x1p3", "inf", "-nan", "",
                     "abc", "1.5x", "007", "9007199254740993", "9007199254740992", "123456789012345678901",
                     "1e22", "1e23", "1e-22", "1e-23", "4.9406564584124654e-324", "1.7976931348623157e308", "1e400",
                     "0.30000000000000004", "3.4028235e38", "-2.1482837", "1.00000000000000000000001", " 1", "1,2"] {
            assertSameAsStrtod(text)
        }
    }

    func testRandomDecimalsAgreeBitForBit() {
        var state: UInt64 = 42
        func next() -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return state >> 17
        }
        for _ in 0..<200_000 {
            let digits = String(next() % 10_000_000_000_000_000)
            let point = Int(next() % UInt64(digits.count + 1))
            var text = (next() % 2 == 0 ? "-" : "") + digits.prefix(point) + "." + digits.dropFirst(point)
            if next() % 3 == 0 { text += "e\(Int(next() % 60) - 30)" }
            assertSameAsStrtod(text)
        }
        // Shortest round-trip floats, the format our writers produce.
        for _ in 0..<100_000 {
            let f = Float(bitPattern: UInt32(truncatingIfNeeded: next()))
            if f.isFinite { assertSameAsStrtod(f.description) }
        }
    }
}
