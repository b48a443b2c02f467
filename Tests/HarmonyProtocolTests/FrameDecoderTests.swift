import XCTest
@testable import HarmonyProtocol

final class FrameDecoderTests: XCTestCase {
    private var stream: [UInt8] {
        SampleMessages.all.flatMap { $0.message.encodedFrame(requestID: $0.requestID, version: $0.version) }
    }

    func testOneByteAtATimeGivesTheSameFramesAsAllAtOnce() throws {
        var whole = FrameDecoder()
        whole.append(contentsOf: stream)
        let expected = try whole.allFrames()
        XCTAssertEqual(expected.count, SampleMessages.all.count)
        XCTAssertEqual(whole.bufferedByteCount, 0)

        var trickle = FrameDecoder()
        var got: [Frame] = []
        for byte in stream {
            trickle.append(contentsOf: [byte])
            while let frame = try trickle.nextFrame() { got.append(frame) }
        }
        XCTAssertEqual(got, expected)
        XCTAssertEqual(try got.map(Message.decode), SampleMessages.all.map(\.message))
    }

    func testRandomSplitsGiveTheSameFrames() throws {
        var rng = SplitMix64(seed: 42)
        let bytes = stream
        var whole = FrameDecoder()
        whole.append(contentsOf: bytes)
        let expected = try whole.allFrames()
        for _ in 0..<50 {
            var decoder = FrameDecoder()
            var got: [Frame] = []
            var i = 0
            while i < bytes.count {
                let n = min(bytes.count - i, Int(rng.next() % 40) + 1)
                bytes.withUnsafeBytes { decoder.append(UnsafeRawBufferPointer(rebasing: $0[i..<(i + n)])) }
                got += try decoder.allFrames()
                i += n
            }
            XCTAssertEqual(got, expected)
        }
    }

    func testTruncatedFrameNeedsMore() throws {
        let frame = SampleMessages.map.encodedFrame(requestID: 1)
        for cut in [0, 1, 4, 15, 16, 17, frame.count - 1] {
            var decoder = FrameDecoder()
            decoder.append(contentsOf: frame[0..<cut])
            XCTAssertNil(try decoder.nextFrame(), "cut at \(cut)")
            XCTAssertEqual(decoder.bufferedByteCount, cut)
            decoder.append(contentsOf: frame[cut...])
            XCTAssertEqual(try decoder.nextFrame()?.bytes, frame, "cut at \(cut)")
        }
    }

    func testWrongMagicFailsFromTheFirstWrongByte() {
        var decoder = FrameDecoder()
        decoder.append(contentsOf: Array("HMX".utf8))
        assertProtocolError(.badMagic, try decoder.nextFrame())
        // The decoder stays failed: the stream is out of sync.
        decoder.append(contentsOf: SampleMessages.info.encodedFrame(requestID: 1))
        assertProtocolError(.badMagic, try decoder.nextFrame())
        var http = FrameDecoder()
        http.append(contentsOf: Array("GET / HTTP/1.1\r\n".utf8))
        assertProtocolError(.badMagic, try http.nextFrame())
    }

    func testTooNewAndZeroVersionsAreUnsupported() {
        for version: UInt8 in [0, 4, 255] {
            var decoder = FrameDecoder()
            decoder.append(contentsOf: FrameHeader(version: version, typeByte: 2, flags: 0, requestID: 9,
                                                   payloadLength: 0).bytes)
            XCTAssertThrowsError(try decoder.nextFrame()) { error in
                XCTAssertEqual((error as? ProtocolError)?.code, .unsupportedVersion)
                XCTAssertEqual((error as? ProtocolError)?.requestID, 9)
            }
        }
    }

    func testOversizeLengthIsRejectedFromTheHeaderAlone() {
        var decoder = FrameDecoder(maxPayloadBytes: 1024)
        decoder.append(contentsOf: FrameHeader(type: .map, requestID: 3, payloadLength: 1025).bytes)
        // No payload byte has arrived: the limit is enforced from the header.
        assertProtocolError(.frameTooLarge, try decoder.nextFrame())
        var exact = FrameDecoder(maxPayloadBytes: 4)
        exact.append(contentsOf: FrameHeader(type: .map, requestID: 3, payloadLength: 4).bytes + [1, 2, 3, 4])
        XCTAssertEqual(try exact.nextFrame()?.payload, [1, 2, 3, 4])
        var huge = FrameDecoder()
        huge.append(contentsOf: FrameHeader(type: .map, requestID: 3, payloadLength: .max).bytes)
        assertProtocolError(.frameTooLarge, try huge.nextFrame())
    }

    func testRandomBytesNeverCrashTheDecoder() throws {
        var rng = SplitMix64(seed: 7)
        var outcomes = [String: Int]()
        for round in 0..<10_000 {
            var bytes = (0..<Int(rng.next() % 64)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            // Half the inputs start with a valid magic and version so that the payload decoders are reached too.
            if round % 2 == 0 { bytes = FrameHeader.magic + [1, UInt8(truncatingIfNeeded: rng.next() % 8)] + bytes }
            if round % 4 == 0 && bytes.count >= 16 {
                let length = UInt32(bytes.count - 16)
                withUnsafeBytes(of: length.littleEndian) { bytes.replaceSubrange(12..<16, with: $0) }
                bytes[6] = 0
                bytes[7] = 0
            }
            var decoder = FrameDecoder(maxPayloadBytes: 1 << 16)
            decoder.append(contentsOf: bytes)
            do {
                while let frame = try decoder.nextFrame() {
                    do {
                        _ = try Message.decode(frame)
                        outcomes["message", default: 0] += 1
                    } catch let error as ProtocolError {
                        outcomes[error.code.name, default: 0] += 1
                    }
                }
                outcomes["need more", default: 0] += 1
            } catch let error as ProtocolError {
                outcomes[error.code.name, default: 0] += 1
            }
        }
        XCTAssertGreaterThan(outcomes["BAD_MAGIC", default: 0], 1000)
        XCTAssertGreaterThan(outcomes["MALFORMED", default: 0], 100)
        XCTAssertGreaterThan(outcomes["need more", default: 0], 100)
    }

    func testConsumedBytesAreReleased() throws {
        var decoder = FrameDecoder()
        let frame = SampleMessages.statsReply.encodedFrame(requestID: 4)
        for _ in 0..<1000 {
            decoder.append(contentsOf: frame + frame[0..<10])
            XCTAssertNotNil(try decoder.nextFrame())
            decoder.append(contentsOf: frame[10...])
            XCTAssertNotNil(try decoder.nextFrame())
        }
        XCTAssertEqual(decoder.bufferedByteCount, 0)
    }
}

/// A small deterministic generator (SplitMix64) so fuzz rounds are reproducible.
struct SplitMix64 {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
