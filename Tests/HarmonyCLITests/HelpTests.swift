import XCTest

/// `--help` of the tool and of every command this engineer owns: exit 0, usage on stdout, examples shown.
final class HelpTests: XCTestCase {
    func testHarmonyHelpListsTheCommands() throws {
        let cli = try CLIRunner()
        defer { cli.remove() }
        let r = try cli.run(["--help"])
        XCTAssertEqual(r.status, 0)
        for command in ["fit", "lisi", "simulate", "bench"] {
            XCTAssertTrue(r.stdout.contains(command), "help lacks \(command): \(r.stdout)")
        }
    }

    func testEveryCommandHasHelpWithExamples() throws {
        let cli = try CLIRunner()
        defer { cli.remove() }
        let expected: [String: [String]] = [
            "fit": ["--meta", "--vars", "--out", "--preset", "--theta", "--sigma", "--lambda", "--alpha", "--nclust",
                    "--tau", "--block-size", "--max-iter", "--max-iter-cluster", "--epsilon-cluster",
                    "--epsilon-harmony", "--no-early-stop", "--batch-prop-cutoff", "--seed", "--threads", "--report",
                    "--quiet"],
            "lisi": ["--meta", "--vars", "--perplexity", "--per-cell"],
            "simulate": ["--cells", "--dims", "--batches", "--types", "--seed", "--out-dir", "--format"],
            "bench": ["--cells", "--dims", "--batches", "--nclust", "--iterations", "--rounds", "--threads", "--repeat",
                      "--json", "--write-inputs", "--no-bound"],
        ]
        for (command, options) in expected {
            let r = try cli.run([command, "--help"])
            XCTAssertEqual(r.status, 0, command)
            XCTAssertTrue(r.stdout.contains("USAGE: harmony \(command)"), r.stdout)
            XCTAssertTrue(r.stdout.contains("Example"), "\(command) help has no examples")
            for option in options { XCTAssertTrue(r.stdout.contains(option), "\(command) help lacks \(option)") }
        }
    }

    func testUnknownCommandIsAUsageError() throws {
        let cli = try CLIRunner()
        defer { cli.remove() }
        let r = try cli.run(["frobnicate"])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.hasPrefix("error: "), r.stderr)
    }
}
