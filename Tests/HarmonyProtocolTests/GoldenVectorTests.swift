import Foundation
import XCTest
@testable import HarmonyProtocol

/// Golden frames in Protocols/vectors/<name>.hex (lowercase hex, 32 bytes per line), shared with the Python client's
/// tests. Run with HARMONY_WRITE_VECTORS=1 to (re)write them after a deliberate format change.
final class GoldenVectorTests: XCTestCase {
    private static let vectorDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Protocols/vectors")

    func testEncoderMatchesTheGoldenVectorsAndDecodesThem() throws {
        let write = ProcessInfo.processInfo.environment["HARMONY_WRITE_VECTORS"] == "1"
        for sample in SampleMessages.all {
            let url = Self.vectorDirectory.appendingPathComponent("\(sample.name).hex")
            let encoded = sample.message.encodedFrame(requestID: sample.requestID, version: sample.version)
            if write {
                try FileManager.default.createDirectory(at: Self.vectorDirectory, withIntermediateDirectories: true)
                try Self.hexLines(encoded).write(to: url, atomically: true, encoding: .utf8)
            }
            guard let text = try? String(contentsOf: url, encoding: .utf8) else {
                XCTFail("golden vector \(url.path) is missing; run the tests once with HARMONY_WRITE_VECTORS=1")
                continue
            }
            let golden = try XCTUnwrap(Self.bytes(fromHex: text), "\(sample.name).hex is not hex")
            XCTAssertEqual(encoded, golden, "\(sample.name): the encoder no longer produces the golden bytes")
            var decoder = FrameDecoder()
            decoder.append(contentsOf: golden)
            let frame = try XCTUnwrap(try decoder.nextFrame(), sample.name)
            XCTAssertEqual(try Message.decode(frame), sample.message, sample.name)
        }
    }

    func testMapVectorStartsWithTheDocumentedHeader() throws {
        let url = Self.vectorDirectory.appendingPathComponent("map.hex")
        let golden = try XCTUnwrap(Self.bytes(fromHex: try String(contentsOf: url, encoding: .utf8)))
        // HMNY, version 1, type MAP, flags 0, request id 7, payload length 37 (as in the protocol document).
        XCTAssertEqual(Array(golden[0..<16]), [0x48, 0x4D, 0x4E, 0x59, 1, 3, 0, 0, 7, 0, 0, 0, 37, 0, 0, 0])
        XCTAssertEqual(golden.count, 16 + 37)
    }

    static func hexLines(_ bytes: [UInt8]) -> String {
        stride(from: 0, to: bytes.count, by: 32).map {
            FrameHeader.hex(bytes[$0..<min($0 + 32, bytes.count)]).replacingOccurrences(of: " ", with: "")
        }.joined(separator: "\n") + "\n"
    }

    static func bytes(fromHex text: String) -> [UInt8]? {
        let digits = Array(text.filter { !$0.isWhitespace })
        guard digits.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        for i in stride(from: 0, to: digits.count, by: 2) {
            guard let b = UInt8(String(digits[i...i + 1]), radix: 16) else { return nil }
            out.append(b)
        }
        return out
    }
}
