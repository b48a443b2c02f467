import Foundation
import XCTest
@testable import HarmonyServer

final class ServerLogTests: XCTestCase {
    /// A text line is `harmonyd TIME LEVEL EVENT DETAILS`; a JSON line is one object that a JSON parser reads back
    /// field for field, quotes, backslashes and control characters in the details included.
    func testTextAndJSONLines() throws {
        let time = ServerLog.timestamp()
        XCTAssertNotNil(time.range(of: #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$"#, options: .regularExpression), time)
        let details = #"batch="a \"b\"" path=C:\x"# + "\ttab\nnewline"
        let text = ServerLog(quiet: false).line("refused", "code=4", level: .warning, time: time)
        XCTAssertEqual(text, "harmonyd \(time) warning refused code=4\n")
        let json = ServerLog(quiet: false, json: true).line("refused", details, level: .warning, time: time)
        XCTAssertTrue(json.hasSuffix("}\n"))
        XCTAssertEqual(json.filter { $0 == "\n" }.count, 1, "one line per event")
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: String])
        XCTAssertEqual(object, ["time": time, "level": "warning", "event": "refused", "details": details])
    }
}
