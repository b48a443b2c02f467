import Foundation
import XCTest

/// Where the tests find the repository and the project's shared data sets and fixtures (`<repo>/../shared`).
/// A missing shared file fails the test that needs it: it is never a skip.
public enum SharedData {
    /// The repository checkout (this file is `Tests/HarmonyTestSupport/SharedData.swift` in it).
    public static let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `<repo>/../shared`.
    public static let directory: URL = repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared")

    /// The shared file or folder at `relative` (e.g. `data/pbmc_stim/pcs.tsv.gz`); records a test failure and
    /// throws when it does not exist.
    public static func path(_ relative: String, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let path = directory.appendingPathComponent(relative).path
        guard FileManager.default.fileExists(atPath: path) else {
            XCTFail("shared data missing: \(path)", file: file, line: line)
            throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: path])
        }
        return path
    }
}
