import XCTest
@testable import HarmonyProtocol

final class ProtocolVersionTests: XCTestCase {
    func testVersionIsTwo() { XCTAssertEqual(ProtocolVersion.current, 2) }

    func testNegotiationPicksTheHighestCommonVersion() {
        XCTAssertEqual(ProtocolVersion.negotiate(clientMin: 1, clientMax: 1), 1)
        XCTAssertEqual(ProtocolVersion.negotiate(clientMin: 1, clientMax: 9), 2)
        XCTAssertEqual(ProtocolVersion.negotiate(clientMin: 2, clientMax: 3), 2)
        XCTAssertNil(ProtocolVersion.negotiate(clientMin: 3, clientMax: 4))
        XCTAssertNil(ProtocolVersion.negotiate(clientMin: 1, clientMax: 0))
        XCTAssertNil(ProtocolVersion.negotiate(clientMin: 0, clientMax: 0))
    }
}
