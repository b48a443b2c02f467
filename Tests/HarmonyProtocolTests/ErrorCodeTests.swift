import XCTest
@testable import HarmonyProtocol

final class ErrorCodeTests: XCTestCase {
    func testNamesAreUppercaseUniqueAndInvertible() {
        XCTAssertEqual(ErrorCode.allCases.count, 15)
        XCTAssertEqual(Set(ErrorCode.allCases.map(\.name)).count, ErrorCode.allCases.count)
        for code in ErrorCode.allCases {
            XCTAssertEqual(code.name, code.name.uppercased())
            XCTAssertEqual(ErrorCode(name: code.name), code)
            XCTAssertTrue(code.guidance.hasSuffix("."), code.name)
        }
        XCTAssertEqual(ErrorCode.badDimension.rawValue, 6)
        XCTAssertEqual(ErrorCode(name: "NOPE"), nil)
    }

    func testOnlyFramingErrorsCloseTheConnection() {
        XCTAssertEqual(ErrorCode.allCases.filter(\.closesConnection), [.badMagic, .unsupportedVersion, .frameTooLarge])
    }
}
