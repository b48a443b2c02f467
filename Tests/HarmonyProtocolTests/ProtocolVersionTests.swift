import XCTest
@testable import HarmonyProtocol

final class ProtocolVersionTests: XCTestCase {
    func testVersionIsOne() { XCTAssertEqual(ProtocolVersion.current, 1) }

    func testNegotiationPicksTheHighestCommonVersion() {
        XCTAssertEqual(ProtocolVersion.negotiate(clientMin: 1, clientMax: 1), 1)
        XCTAssertEqual(ProtocolVersion.negotiate(clientMin: 1, clientMax: 9), 1)
        XCTAssertNil(ProtocolVersion.negotiate(clientMin: 2, clientMax: 3))
        XCTAssertNil(ProtocolVersion.negotiate(clientMin: 1, clientMax: 0))
        XCTAssertNil(ProtocolVersion.negotiate(clientMin: 0, clientMax: 0))
    }
}
