import Foundation
import XCTest
import HarmonyTestSupport

/// Runs the built `harmony` binary in a scratch directory and captures its exit status and output.
struct CLIRunner {
    /// A fresh temporary directory the command runs in.
    let directory: URL

    /// What one run produced.
    struct Outcome {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    init() throws {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("harmony-cli-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    /// Runs `harmony args...` (or another `executable`) with the scratch directory as working directory, adding
    /// `environment` to this process's.
    func run(_ args: [String], executable: URL = BuiltBinary.url("harmony"),
             environment: [String: String] = [:]) throws -> Outcome {
        let p = Process()
        p.executableURL = executable
        p.arguments = args
        if !environment.isEmpty {
            p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        p.currentDirectoryURL = directory
        // Output goes to files, not pipes, so a large output can never block the child.
        let outURL = directory.appendingPathComponent(".stdout"), errURL = directory.appendingPathComponent(".stderr")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let out = try FileHandle(forWritingTo: outURL), err = try FileHandle(forWritingTo: errURL)
        defer {
            try? out.close(); try? err.close()
            try? FileManager.default.removeItem(at: outURL); try? FileManager.default.removeItem(at: errURL)
        }
        p.standardOutput = out
        p.standardError = err
        try p.run()
        p.waitUntilExit()
        return Outcome(status: p.terminationStatus, stdout: String(decoding: try Data(contentsOf: outURL), as: UTF8.self),
                       stderr: String(decoding: try Data(contentsOf: errURL), as: UTF8.self))
    }

    /// Simulates an embedding data set into `dir` (pcs.tsv.gz and meta.tsv.gz), failing the test if it cannot.
    func simulate(cells: Int, dims: Int, batches: Int, types: Int, seed: Int, into dir: String = "data",
                  file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try run(["simulate", "--cells", "\(cells)", "--dims", "\(dims)", "--batches", "\(batches)",
                         "--types", "\(types)", "--seed", "\(seed)", "--out-dir", dir])
        XCTAssertEqual(r.status, 0, r.stderr, file: file, line: line)
    }

    /// Writes `text` to `name` in the scratch directory.
    func write(_ name: String, _ text: String) throws {
        try text.write(to: directory.appendingPathComponent(name), atomically: true, encoding: .utf8)
    }

    /// The bytes of `name` in the scratch directory.
    func read(_ name: String) throws -> Data {
        try Data(contentsOf: directory.appendingPathComponent(name))
    }

    /// Whether `name` exists in the scratch directory.
    func exists(_ name: String) -> Bool {
        FileManager.default.fileExists(atPath: directory.appendingPathComponent(name).path)
    }

    /// The names in the scratch directory (to check that no output or temporary file was left behind).
    func listing() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [])
            .filter { $0 != ".stdout" && $0 != ".stderr" }.sorted()
    }

    /// Removes the scratch directory.
    func remove() {
        try? FileManager.default.removeItem(at: directory)
    }
}
