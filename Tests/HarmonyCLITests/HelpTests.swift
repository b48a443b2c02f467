import XCTest

final class HelpTests: XCTestCase {
    func testHarmonyHelpRuns() throws {
        let p = Process()
        p.executableURL = BinaryLocator.url("harmony")
        p.arguments = ["--help"]
        let out = Pipe(); p.standardOutput = out
        try p.run(); p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertTrue(text.contains("harmony"))
    }
}
