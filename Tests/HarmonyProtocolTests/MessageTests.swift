import XCTest
@testable import HarmonyProtocol

final class MessageTests: XCTestCase {
    func testEveryMessageRoundTrips() throws {
        XCTAssertEqual(Set(SampleMessages.all.map { $0.message.type }), Set(MessageType.allCases))
        for sample in SampleMessages.all {
            let bytes = sample.message.encodedFrame(requestID: sample.requestID, version: sample.version)
            var decoder = FrameDecoder()
            decoder.append(contentsOf: bytes)
            let frame = try XCTUnwrap(try decoder.nextFrame(), sample.name)
            XCTAssertEqual(frame.header.requestID, sample.requestID)
            XCTAssertEqual(Int(frame.header.payloadLength), bytes.count - FrameHeader.size)
            XCTAssertEqual(try Message.decode(frame), sample.message, sample.name)
            XCTAssertEqual(frame.bytes, bytes, sample.name)
            XCTAssertEqual(sample.message.payload.payloadSizeHint >= frame.payload.count, true, sample.name)
        }
    }

    func testMapRequestLayoutOffsets() throws {
        let payload = SampleMessages.map.encodedPayload()
        // u16 2 | "q1" | u32 2 | u32 2 | u8 1 | 4 floats | 2 ids of 2 bytes
        XCTAssertEqual(payload.count, 2 + 2 + 4 + 4 + 1 + 16 + 2 * 4)
        XCTAssertEqual(Array(payload[0..<4]), [2, 0, 0x71, 0x31])
        XCTAssertEqual(payload[12], 1)
        XCTAssertEqual(Array(payload[13..<17]), [0, 0, 0, 0x3F])  // 0.5f little-endian
    }

    func testBatchLabelsLongerThanTheLimitAreMalformed() throws {
        let longest = String(repeating: "a", count: ProtocolLimits.maxBatchLabelBytes)
        let ok = MapRequest(batch: longest, cellCount: 1, dimensions: 1, values: [1])
        XCTAssertEqual(try MapRequest(payload: ok.encodedPayload()).batch, longest)
        let long = MapRequest(batch: longest + "a", cellCount: 1, dimensions: 1, values: [1])
        XCTAssertThrowsError(try MapRequest(payload: long.encodedPayload())) { error in
            XCTAssertEqual((error as? ProtocolError)?.code, .malformed)
        }
    }

    func testMapRequestWithoutIDsRoundTrips() throws {
        let decoded = try MapRequest(payload: SampleMessages.mapNoIDs.encodedPayload())
        XCTAssertNil(decoded.cellIDs)
        XCTAssertEqual(decoded.values, [1, 2, 3])
    }

    func testLargeMapRoundTripsBitExactly() throws {
        let n = 1000, d = 30
        let values = (0..<(n * d)).map { Float(sin(Double($0)) * 10) }
        let request = MapRequest(batch: "big", cellCount: n, dimensions: d, values: values,
                                 cellIDs: (0..<n).map { "cell-\($0)" })
        let bytes = request.encodedPayload()
        XCTAssertEqual(bytes.count, request.payloadSizeHint)
        let decoded = try MapRequest(payload: bytes)
        XCTAssertEqual(decoded.values.map(\.bitPattern), values.map(\.bitPattern))
        XCTAssertEqual(decoded.cellIDs?.last, "cell-999")
    }

    func testNaNInMapIsNonFinite() {
        var payload = SampleMessages.map.encodedPayload()
        // The third value (offset 13 + 8) becomes a quiet NaN.
        payload.replaceSubrange(21..<25, with: [0, 0, 0xC0, 0x7F])
        assertProtocolError(.nonFinite, try MapRequest(payload: payload))
        payload.replaceSubrange(21..<25, with: [0, 0, 0x80, 0xFF])  // -infinity
        assertProtocolError(.nonFinite, try MapRequest(payload: payload))
    }

    func testLyingDimensionsAreBadDimension() {
        var payload = SampleMessages.map.encodedPayload()
        payload.replaceSubrange(4..<8, with: [0xFF, 0xFF, 0xFF, 0xFF])  // n = 2^32 - 1
        assertProtocolError(.badDimension, try MapRequest(payload: payload))
        payload.replaceSubrange(4..<12, with: [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])  // n = d = 2^32 - 1
        assertProtocolError(.badDimension, try MapRequest(payload: payload))
        payload.replaceSubrange(4..<12, with: [1, 0, 0, 0, 0, 0, 0, 0])  // one cell of dimension 0
        assertProtocolError(.badDimension, try MapRequest(payload: payload))
        let empty = MapRequest(batch: "q", cellCount: 0, dimensions: 3, values: [])
        assertProtocolError(.badDimension, try MapRequest(payload: empty.encodedPayload()))
    }

    func testLyingStringLengthsAreMalformed() {
        var payload = SampleMessages.map.encodedPayload()
        payload[0] = 200  // batch label length beyond the payload
        assertProtocolError(.malformed, try MapRequest(payload: payload))
        var info = SampleMessages.infoReply.encodedPayload()
        info.replaceSubrange(36..<40, with: [0xFF, 0xFF, 0xFF, 0x7F])  // batch count 2^31 - 1
        assertProtocolError(.malformed, try InfoReply(payload: info))
        var stats = SampleMessages.statsReply.encodedPayload()
        stats.replaceSubrange(85..<89, with: [0xFF, 0xFF, 0xFF, 0xFF])
        assertProtocolError(.malformed, try StatsReply(payload: stats))
        var error = SampleMessages.error.encodedPayload()
        error.replaceSubrange(17..<21, with: [0xFF, 0xFF, 0xFF, 0xFF])  // message length
        assertProtocolError(.malformed, try ErrorReply(payload: error))
    }

    func testTruncatedAndTrailingPayloadsAreMalformed() {
        for sample in SampleMessages.all {
            let payload = sample.message.payload.encodedPayload()
            let type = Swift.type(of: sample.message.payload)
            let frame = Frame(type: type.messageType, requestID: 5, payload: payload + [0])
            assertProtocolError(.malformed, try Message.decode(frame), sample.name)
            if !payload.isEmpty {
                let short = Frame(type: type.messageType, requestID: 5, payload: Array(payload.dropLast()))
                XCTAssertThrowsError(try Message.decode(short), sample.name)
            }
        }
    }

    func testInvalidUTF8AndBadBooleansAreMalformed() {
        var payload = SampleMessages.export.encodedPayload()
        payload[2] = 0xFF
        assertProtocolError(.malformed, try ExportRequest(payload: payload))
        assertProtocolError(.malformed, try ExportRequest(payload: [0, 0]))  // empty batch label
        var refit = SampleMessages.refitReply.encodedPayload()
        refit[0] = 2
        assertProtocolError(.malformed, try RefitReply(payload: refit))
    }

    func testUnknownTypeAndFlagsKeepTheRequestID() {
        let unknown = Frame(header: FrameHeader(version: 1, typeByte: 0x07, flags: 0, requestID: 77, payloadLength: 0),
                            payload: [])
        XCTAssertThrowsError(try Message.decode(unknown)) { error in
            XCTAssertEqual((error as? ProtocolError)?.code, .unknownType)
            XCTAssertEqual((error as? ProtocolError)?.requestID, 77)
        }
        let flagged = Frame(header: FrameHeader(version: 1, typeByte: 0x02, flags: 4, requestID: 78, payloadLength: 0),
                            payload: [])
        XCTAssertThrowsError(try Message.decode(flagged)) { error in
            XCTAssertEqual((error as? ProtocolError)?.code, .malformed)
            XCTAssertEqual((error as? ProtocolError)?.requestID, 78)
        }
        let wrong = SampleMessages.info.frame(requestID: 3)
        assertProtocolError(.malformed, try StatsRequest(frame: wrong))
    }

    func testErrorReplyKeepsUnknownCodes() throws {
        let future = ErrorReply(rawCode: 999, name: "FROM_THE_FUTURE", message: "m")
        let decoded = try ErrorReply(payload: future.encodedPayload())
        XCTAssertNil(decoded.code)
        XCTAssertEqual(decoded.name, "FROM_THE_FUTURE")
        XCTAssertEqual(ErrorReply(ProtocolError(.busy, "later")).code, .busy)
    }
}

/// Asserts that `expression` throws a `ProtocolError` with `code`.
func assertProtocolError<T>(_ code: ErrorCode, _ expression: @autoclosure () throws -> T, _ note: String = "",
                            file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertThrowsError(try expression(), note, file: file, line: line) { error in
        XCTAssertEqual((error as? ProtocolError)?.code, code, "\(note): \(error)", file: file, line: line)
    }
}
