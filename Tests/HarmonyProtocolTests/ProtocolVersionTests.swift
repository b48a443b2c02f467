import XCTest
@testable import HarmonyProtocol

final class ProtocolVersionTests: XCTestCase {
    func testVersionIsThree() { XCTAssertEqual(ProtocolVersion.current, 3) }

    func testNegotiationPicksTheHighestCommonVersion() {
        XCTAssertEqual(ProtocolVersion.negotiate(clientMin: 1, clientMax: 1), 1)
        XCTAssertEqual(ProtocolVersion.negotiate(clientMin: 1, clientMax: 9), 3)
        XCTAssertEqual(ProtocolVersion.negotiate(clientMin: 1, clientMax: 2), 2)
        XCTAssertEqual(ProtocolVersion.negotiate(clientMin: 2, clientMax: 3), 3)
        XCTAssertNil(ProtocolVersion.negotiate(clientMin: 4, clientMax: 5))
        XCTAssertNil(ProtocolVersion.negotiate(clientMin: 1, clientMax: 0))
        XCTAssertNil(ProtocolVersion.negotiate(clientMin: 0, clientMax: 0))
    }
}
