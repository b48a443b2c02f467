import XCTest
@testable import HarmonyProtocol

final class FrameHeaderTests: XCTestCase {
    func testLayoutMatchesTheFixedFrameHeader() {
        let header = FrameHeader(type: .export, requestID: 0x0102_0304, payloadLength: 0x0A0B_0C0D, version: 1)
        XCTAssertEqual(header.bytes, [0x48, 0x4D, 0x4E, 0x59, 1, 0x06, 0, 0, 4, 3, 2, 1, 0x0D, 0x0C, 0x0B, 0x0A])
    }

    func testParseRoundTripsAndKeepsUnknownTypes() throws {
        let header = FrameHeader(version: 1, typeByte: 0x42, flags: 3, requestID: 99, payloadLength: 10)
        let parsed = try header.bytes.withUnsafeBytes { try FrameHeader.parse($0, maxPayloadBytes: 10) }
        XCTAssertEqual(parsed, header)
        XCTAssertNil(parsed.messageType)
    }

    func testReplyTypesSetTheHighBit() {
        for type in MessageType.allCases where type.isRequest {
            XCTAssertEqual(type.replyType?.rawValue, type.rawValue | 0x80)
        }
        XCTAssertNil(MessageType.error.replyType)
        XCTAssertEqual(MessageType.mapReply.name, "MAP_REPLY")
    }
}
