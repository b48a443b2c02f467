import Foundation
import XCTest

/// Input that used to trap the process (or write NaN and succeed) is bad input: exit 2, one error line, no output.
final class InputTrapTests: XCTestCase {
    /// The bytes of a version-1 .npy file with the header dictionary `dict` and `data` after it.
    private func npy(shape: String, data: [UInt8] = []) -> Data {
        var dict = "{'descr': '<f4', 'fortran_order': False, 'shape': \(shape), }"
        while (10 + dict.utf8.count + 1) % 64 != 0 { dict += " " }
        dict += "\n"
        var bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0]
        bytes += [UInt8(dict.utf8.count & 0xFF), UInt8(dict.utf8.count >> 8)]
        bytes += Array(dict.utf8) + data
        return Data(bytes)
    }

    func testNpyShapesThatAreNoMatrixSizeAreFormatErrors() throws {
        let cli = try CLIRunner()
        defer { cli.remove() }
        try cli.write("m.tsv", "id\tb\n" + (0..<4).map { "\($0)\ta\n" }.joined())
        for shape in ["(-2, 3)", "(4611686018427387904, 4)", "(3, -1)"] {
            try npy(shape: shape, data: [UInt8](repeating: 0, count: 48))
                .write(to: cli.directory.appendingPathComponent("bad.npy"))
            let r = try cli.run(["lisi", "bad.npy", "--meta", "m.tsv", "--vars", "b"])
            XCTAssertEqual(r.status, 2, "\(shape): \(r.stderr)")
            XCTAssertTrue(r.stderr.hasPrefix("error: ") && r.stderr.contains("bad.npy"), "\(shape): \(r.stderr)")
        }
    }

    func testAHugePerplexityIsAnInvalidParameter() throws {
        let cli = try CLIRunner()
        defer { cli.remove() }
        try cli.write("e.tsv", "id\tx\ty\n" + (0..<40).map { "c\($0)\t\($0 % 7)\t\($0 % 3)\n" }.joined())
        try cli.write("m.tsv", "id\tb\n" + (0..<40).map { "c\($0)\t\($0 % 2 == 0 ? "a" : "b")\n" }.joined())
        let r = try cli.run(["lisi", "e.tsv", "--meta", "m.tsv", "--vars", "b", "--perplexity", "1e300"])
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertTrue(r.stderr.hasPrefix("error: ") && r.stderr.contains("perplexity"), r.stderr)
        XCTAssertEqual(try cli.run(["lisi", "e.tsv", "--meta", "m.tsv", "--vars", "b", "--perplexity", "5"]).status, 0)
    }

    /// Finite values whose squares overflow float32: no all-NaN output with exit 0.
    func testAFitOfHugeValuesWritesNothingAndExitsTwo() throws {
        let cli = try CLIRunner()
        defer { cli.remove() }
        let rows = (0..<60).map { i in "c\(i)\t" + (0..<4).map { j in "\(Double((i * 7 + j * 3) % 11 - 5) * 3e37)" }.joined(separator: "\t") }
        try cli.write("pcs.tsv", "id\tPC1\tPC2\tPC3\tPC4\n" + rows.joined(separator: "\n") + "\n")
        try cli.write("meta.tsv", "id\tbatch\n" + (0..<60).map { "c\($0)\t\($0 % 2 == 0 ? "x" : "y")\n" }.joined())
        let r = try cli.run(["fit", "pcs.tsv", "--meta", "meta.tsv", "--vars", "batch", "--out", "o.tsv",
                             "--report", "r.json", "--quiet"])
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertTrue(r.stderr.hasPrefix("error: ") && r.stderr.contains("pcs.tsv"), r.stderr)
        XCTAssertFalse(cli.exists("o.tsv") || cli.exists("r.json"), "no output, and no report either")
    }
}
