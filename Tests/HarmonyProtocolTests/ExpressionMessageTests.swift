import XCTest
@testable import HarmonyProtocol

/// MAP_EXPRESSION (version 3): layout, hostile payloads, and the version-dependent INFO and MAP reply layouts.
final class ExpressionMessageTests: XCTestCase {
    // Two cells over 4 genes, counts: cell 0 has genes 0 and 2, cell 1 gene 3; gene 1 is measured too.
    private func request(kind: ExpressionValueKind = .counts, present: [Bool]? = nil, totals: [Double] = [10, 7],
                         starts: [UInt32] = [0, 2, 3], columns: [UInt32] = [0, 2, 3],
                         values: [Float] = [3, 1, 2], ids: [String]? = ["a", "b"]) -> ExpressionMapRequest {
        ExpressionMapRequest(batch: "q", geneCount: 4, valueKind: kind, present: present, totals: totals,
                             rowStarts: starts, columns: columns, values: values, cellIDs: ids)
    }

    private func decode(_ request: ExpressionMapRequest) throws -> ExpressionMapRequest {
        try ExpressionMapRequest(payload: request.encodedPayload())
    }

    func testValidRequestsRoundTrip() throws {
        let plain = request()
        XCTAssertEqual(try decode(plain), plain)
        let absent = request(present: [true, false, true, true], ids: nil)
        XCTAssertEqual(try decode(absent), absent)
        // An empty row is allowed when the cell's library is not empty (its counts lie outside the reference genes).
        let emptyRow = request(totals: [10, 5], starts: [0, 3, 3], columns: [0, 2, 3], values: [3, 1, 2])
        XCTAssertEqual(try decode(emptyRow), emptyRow)
        // Normalized values need not be integers; their totals are not read.
        let normalized = request(kind: .logNormalized, totals: [0, 0], values: [0.25, 1.5, 2])
        XCTAssertEqual(try decode(normalized), normalized)
    }

    func testBadIndicesAreRefused() {
        assertProtocolError(.malformed, try decode(request(columns: [2, 0, 3])), "unsorted")
        assertProtocolError(.malformed, try decode(request(columns: [2, 2, 3])), "repeated")
        assertProtocolError(.badDimension, try decode(request(columns: [0, 4, 3])), "out of range")
        assertProtocolError(.malformed, try decode(request(starts: [0, 3, 2])), "decreasing row starts")
        assertProtocolError(.malformed, try decode(request(starts: [1, 2, 3])), "first row start")
    }

    func testBadValuesAreRefused() {
        assertProtocolError(.badValue, try decode(request(values: [3, -1, 2])), "negative")
        assertProtocolError(.badValue, try decode(request(values: [3, 1.5, 2])), "non-integer count")
        assertProtocolError(.nonFinite, try decode(request(values: [3, .nan, 2])), "NaN")
        assertProtocolError(.nonFinite, try decode(request(values: [.infinity, 1, 2])), "infinite")
        assertProtocolError(.badValue, try decode(request(totals: [3, 7])), "total below the row's counts")
        assertProtocolError(.badValue, try decode(request(totals: [10, 0], starts: [0, 3, 3])), "empty cell")
        assertProtocolError(.nonFinite, try decode(request(totals: [.nan, 7])), "NaN total")
        assertProtocolError(.badValue, try decode(request(kind: .logNormalized, totals: [-1, 0])), "negative total")
        assertProtocolError(.badValue, try decode(request(present: [true, true, false, true])), "value on an absent gene")
    }

    func testHostileLengthsAreRefusedBeforeAllocating() throws {
        let valid = request().encodedPayload()
        // n = 2^32 - 1 cells: refused against the bytes left, nothing allocated.
        var huge = valid
        huge.replaceSubrange(3..<7, with: [0xFF, 0xFF, 0xFF, 0xFF])
        assertProtocolError(.badDimension, try ExpressionMapRequest(payload: huge), "n")
        // G = 2^32 - 1 genes: the bitmap alone does not fit.
        huge = valid
        huge.replaceSubrange(7..<11, with: [0xFF, 0xFF, 0xFF, 0xFF])
        assertProtocolError(.badDimension, try ExpressionMapRequest(payload: huge), "G")
        // The last row start announces 2^32 - 1 stored values.
        let lastStart = 3 + 4 + 4 + 2 + 1 + 16 + 8
        huge = valid
        huge.replaceSubrange(lastStart..<(lastStart + 4), with: [0xFF, 0xFF, 0xFF, 0xFF])
        assertProtocolError(.badDimension, try ExpressionMapRequest(payload: huge), "nnz")
        // n = 0 and G = 0.
        var zero = valid
        zero.replaceSubrange(3..<7, with: [0, 0, 0, 0])
        assertProtocolError(.badDimension, try ExpressionMapRequest(payload: zero), "n = 0")
        // Bitmap bits beyond G, and an unknown value kind.
        var bits = valid
        bits[13] = 0xFF
        assertProtocolError(.malformed, try ExpressionMapRequest(payload: bits), "bitmap")
        var kind = valid
        kind[11] = 2
        assertProtocolError(.malformed, try ExpressionMapRequest(payload: kind), "kind")
        // Every truncation of a valid payload is an error, never a trap.
        for cut in 0..<valid.count {
            XCTAssertThrowsError(try ExpressionMapRequest(payload: Array(valid[0..<cut])), "cut at \(cut)")
        }
    }

    func testExpressionTypesAreUnknownBeforeVersion3() {
        let frame = Frame(type: .mapExpression, requestID: 9, payload: request().encodedPayload(), version: 2)
        assertProtocolError(.unknownType, try Message.decodeRequest(frame))
        let reply = Frame(type: .mapExpressionReply, requestID: 9, payload: [], version: 3)
        assertProtocolError(.unknownType, try Message.decodeRequest(reply), "a reply type sent by a client")
    }

    func testVersion3LayoutsOnlyGrowInVersion3Frames() throws {
        // A version-2 peer gets the old layouts byte for byte; the new fields are appended in version 3.
        let info = SampleMessages.infoReplyV3
        let v2 = info.encodedPayload(version: 2)
        XCTAssertEqual(v2, SampleMessages.infoReply.encodedPayload(version: 2))
        XCTAssertGreaterThan(info.encodedPayload(version: 3).count, v2.count)
        let decodedV2 = try InfoReply(payload: v2, version: 2)
        XCTAssertNil(decodedV2.geneSpace)
        XCTAssertEqual(try InfoReply(payload: info.encodedPayload(version: 3), version: 3), info)
        let map = SampleMessages.mapExpressionReply.reply
        XCTAssertEqual(map.encodedPayload(version: 2).count + 4 * map.cellCount, map.encodedPayload(version: 3).count)
        XCTAssertNil(try MapReply(payload: map.encodedPayload(version: 2), version: 2).mappingDistance)
        // A version-3 reply without distances carries -1.
        var none = map
        none.mappingDistance = nil
        XCTAssertEqual(try MapReply(payload: none.encodedPayload(version: 3), version: 3).mappingDistance, [-1, -1])
    }
}
