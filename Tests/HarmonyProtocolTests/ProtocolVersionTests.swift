import XCTest
@testable import HarmonyProtocol

final class ProtocolVersionTests: XCTestCase {
    func testVersionIsOne() { XCTAssertEqual(ProtocolVersion.current, 1) }
}
