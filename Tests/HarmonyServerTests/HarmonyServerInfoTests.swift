import XCTest
@testable import HarmonyServer

final class HarmonyServerInfoTests: XCTestCase {
    func testLibUVIsLinked() { XCTAssertTrue(HarmonyServerInfo.libuvVersion.hasPrefix("1.")) }
}
