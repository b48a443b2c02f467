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

    /// The whole-file reader and the line reader share one inflater: both read members separated and followed by
    /// zero padding (2 MiB of it, more than one read of the line reader, so padding spans its refills), in pieces
    /// small enough that the output fills up again and again, and both report data cut inside a member.
    func testBothReadersTakePaddedMembersAndReportTruncation() throws {
        let text = Array((0..<200_000).map { "line \($0) \($0 &* 2654435761 % 1000003)\n" }.joined().utf8)
        let half = text.count / 2
        let first = try Gzip.compress(Array(text[..<half])), second = try Gzip.compress(Array(text[half...]))
        let padded = first + [UInt8](repeating: 0, count: 2 << 20) + second + [UInt8](repeating: 0, count: 100)
        let path = try dir.write("padded.gz", bytes: padded)
        XCTAssertEqual(try FileBytes.read(path), text)
        XCTAssertEqual(try linesRead(path, chunkBytes: 64), text)
        XCTAssertEqual(try linesRead(path, chunkBytes: 1 << 20), text)
        let cuts = [("member.gz", first + second.prefix(second.count - 5)),
                    ("header.gz", first + [UInt8](repeating: 0, count: 10) + second.prefix(3))]
        for (name, bytes) in cuts {
            let cut = try dir.write(name, bytes: Array(bytes))
            XCTAssertThrowsError(try FileBytes.read(cut)) { XCTAssertTrue("\($0)".contains("\(name): the gzip data is truncated"), "\($0)") }
            XCTAssertThrowsError(try linesRead(cut, chunkBytes: 64)) {
                XCTAssertTrue("\($0)".contains("\(name): the gzip data is truncated"), "\($0)")
            }
        }
    }

    /// A member whose CRC-32 or length trailer disagrees with its data is refused, by both readers; a file written
    /// by the system's gzip (its header names the original file) reads back exactly.
    func testTrailerMismatchIsRefusedAndGzipHeadersAreRead() throws {
        let text = Array((0..<50_000).map { "row \($0)\n" }.joined().utf8)
        let member = try Gzip.compress(text)
        for (name, offset) in [("crc.gz", member.count - 8), ("length.gz", member.count - 1)] {
            var damaged = member + member
            damaged[offset] ^= 0x01
            let path = try dir.write(name, bytes: damaged)
            XCTAssertThrowsError(try FileBytes.read(path)) { XCTAssertTrue("\($0)".contains("\(name): cannot decompress"), "\($0)") }
            XCTAssertThrowsError(try linesRead(path, chunkBytes: 4096)) {
                XCTAssertTrue("\($0)".contains("\(name): cannot decompress"), "\($0)")
            }
        }
        let original = try dir.write("named.txt", bytes: text)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", "gzip -k -N '\(original)'"]
        try p.run()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
        XCTAssertEqual(try FileBytes.read(original + ".gz"), text)
        XCTAssertEqual(try linesRead(original + ".gz", chunkBytes: 1000), text)
    }

    /// Every byte `LineChunks` gives, piece after piece (each without its closing NUL).
    private func linesRead(_ path: String, chunkBytes: Int) throws -> [UInt8] {
        let chunks = try LineChunks(path, chunkBytes: chunkBytes)
        var out: [UInt8] = []
        while let piece = try chunks.next() {
            XCTAssertEqual(piece.last, 0)
            out.append(contentsOf: piece.dropLast())
        }
        return out
    }
}
