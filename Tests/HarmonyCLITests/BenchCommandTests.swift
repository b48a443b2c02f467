import XCTest

/// `harmony bench`: a tiny run reports every phase, the iteration count and memory as JSON.
final class BenchCommandTests: XCTestCase {
    func testJsonReportOfATinyBenchmark() throws {
        let cli = try CLIRunner()
        defer { cli.remove() }
        let r = try cli.run(["bench", "--cells", "600", "--dims", "8", "--batches", "3", "--iterations", "3", "--rounds", "2",
                             "--repeat", "2", "--threads", "1", "--json", "--write-inputs", "inputs"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let out = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
        XCTAssertEqual(out["iterations"] as? Int, 3, "early stopping is off")
        XCTAssertEqual(out["K"] as? Int, 20)
        XCTAssertEqual((out["runs_seconds"] as? [Double])?.count, 2)
        let median = out["median_seconds"] as! [String: Double]
        for phase in ["initialization", "clustering", "correction", "total", "per_iteration"] {
            XCTAssertGreaterThan(median[phase] ?? -1, 0, phase)
        }
        XCTAssertGreaterThan(out["peak_rss_bytes"] as! Int, 1 << 20)
        // The measured hardware bound: positive floors, and fractions of it that a real fit cannot exceed by much
        // (timer noise at this tiny size aside).
        let bound = try XCTUnwrap(out["hardware_bound"] as? [String: Double])
        for key in ["read_bandwidth_bytes_per_s", "sgemm_seconds", "sgemm_argmin_seconds", "nearest_kernel_seconds",
                    "exp_seconds", "kmeans_start_floor_seconds", "iteration_floor_seconds"] {
            XCTAssertGreaterThan(bound[key] ?? -1, 0, key)
        }
        // Ten Lloyd assignments, each the faster way: sgemm + argmin, or the start's own nearest-mean kernel.
        XCTAssertEqual(bound["kmeans_start_floor_seconds"]!,
                       10 * min(bound["sgemm_argmin_seconds"]!, bound["nearest_kernel_seconds"]!), accuracy: 1e-12)
        for key in ["kmeans_start_fraction", "iteration_fraction"] {
            XCTAssertGreaterThan(bound[key] ?? -1, 0, key)
            XCTAssertLessThan(bound[key] ?? 99, 3, key)
        }
        XCTAssertTrue(cli.exists("inputs/pcs.tsv.gz") && cli.exists("inputs/meta.tsv.gz"))
    }

    func testRejectsASingleBatch() throws {
        let cli = try CLIRunner()
        defer { cli.remove() }
        let r = try cli.run(["bench", "--cells", "600", "--dims", "8", "--batches", "1"])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("--batches"), r.stderr)
    }
}
