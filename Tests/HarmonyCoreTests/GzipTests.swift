import XCTest
@testable import HarmonyCore

/// Gzip output in pieces (multi-member), read back by FileBytes and by the system's gzip; damaged input.
final class GzipTests: XCTestCase {
    private var dir: IOTestDirectory!
    override func setUpWithError() throws { dir = try IOTestDirectory() }
    override func tearDown() { dir.remove() }

    func testSmallAndMultiMemberRoundTrip() throws {
        for count in [0, 100_000, Gzip.pieceSize * 2 + 12_345] {
            let data = (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 7) }
            let compressed = try Gzip.compress(data)
            XCTAssertEqual(try Gzip.compress(data), compressed, "reproducible bytes")
            let path = try dir.write("g\(count).gz", bytes: compressed)
            XCTAssertEqual(try FileBytes.read(path), data, "\(count) bytes")
            // The system's gzip reads the concatenated members as one stream.
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/bin/sh")
            p.arguments = ["-c", "gzip -t '\(path)'"]
            try p.run()
            p.waitUntilExit()
            XCTAssertEqual(p.terminationStatus, 0, "gzip -t accepts \(count) bytes")
        }
    }

    func testPlainFilesPassThroughAndDamageIsReported() throws {
        let plain = try dir.write("p.txt", "hello\n")
        XCTAssertEqual(try FileBytes.read(plain), Array("hello\n".utf8))
        let full = try Gzip.compress(Array(repeating: 65, count: 50_000))
        let truncated = try dir.write("t.gz", bytes: Array(full.prefix(full.count / 2)))
        XCTAssertThrowsError(try FileBytes.read(truncated)) { XCTAssertTrue("\($0)".contains("t.gz"), "\($0)") }
        var corrupt = full
        corrupt[12] ^= 0xff
        corrupt[13] ^= 0xff
        let bad = try dir.write("c.gz", bytes: corrupt)
        XCTAssertThrowsError(try FileBytes.read(bad)) { XCTAssertTrue("\($0)".contains("c.gz"), "\($0)") }
    }
}
