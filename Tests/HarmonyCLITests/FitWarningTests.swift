import Foundation
import XCTest

/// Data problems that do not stop a fit but are said on stderr.
final class FitWarningTests: XCTestCase {
    func testASingleCellBatchIsWarnedAbout() throws {
        let cli = try CLIRunner()
        defer { cli.remove() }
        try cli.simulate(cells: 300, dims: 6, batches: 2, types: 2, seed: 5)
        let plain = try cli.run(["fit", "data/pcs.tsv.gz", "--meta", "data/meta.tsv.gz", "--vars", "batch",
                                 "--max-iter", "2", "--out", "a.tsv", "--quiet"])
        XCTAssertEqual(plain.status, 0, plain.stderr)
        XCTAssertFalse(plain.stderr.contains("single cell"), plain.stderr)

        // The same metadata with one cell moved to a batch of its own.
        let text = try String(decoding: Data(contentsOf: cli.directory.appendingPathComponent("data/meta.tsv.gz")).gunzipped(),
                              as: UTF8.self)
        var lines = text.split(separator: "\n").map(String.init)
        var fields = lines[1].split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
        let batchColumn = lines[0].split(separator: "\t").map(String.init).firstIndex(of: "batch")!
        fields[batchColumn] = "lonely"
        lines[1] = fields.joined(separator: "\t")
        try cli.write("meta.tsv", lines.joined(separator: "\n") + "\n")
        let warned = try cli.run(["fit", "data/pcs.tsv.gz", "--meta", "meta.tsv", "--vars", "batch",
                                  "--max-iter", "2", "--out", "b.tsv", "--quiet"])
        XCTAssertEqual(warned.status, 0, warned.stderr)
        XCTAssertTrue(warned.stderr.contains("warning: 1 level(s) of 'batch' hold a single cell ('lonely')"),
                      warned.stderr)
    }
}

private extension Data {
    /// The bytes of a gzip file, inflated with the system's gzip.
    func gunzipped() throws -> Data {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        let input = FileManager.default.temporaryDirectory.appendingPathComponent("warn-\(UUID().uuidString).gz")
        try write(to: input)
        defer { try? FileManager.default.removeItem(at: input) }
        p.arguments = ["-c", "gzip -dc '\(input.path)'"]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return data
    }
}
