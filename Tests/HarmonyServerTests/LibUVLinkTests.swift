import XCTest
@testable import HarmonyServer

final class LibUVLinkTests: XCTestCase {
    func testLibUVIsLinked() { XCTAssertTrue(HarmonyServerInfo.libuvVersion.hasPrefix("1.")) }
}
