import Foundation
import XCTest
import HarmonyCore
import HarmonyTestSupport

/// `mpirun -np P harmony-mpi fit` against `harmony fit` on the same simulated input (9,000 cells, so that 3
/// processes each hold cells: shards are runs of 2,048 cells). Needs Open MPI's mpirun and the harmony-mpi
/// executable, which `HARMONY_MPI=1 swift build` (Samples/test.sh) builds; without them these tests fail.
final class MPIFitTests: XCTestCase {
    private var cli: CLIRunner!

    /// With P > 1 the ranks' partial sums are added in another order than the single process adds its tasks'
    /// (a few float32 roundings apart). Measured: at most 2e-7 x max|Z| over these runs; the bound leaves room.
    private let tolerance: Float = 1e-5

    override func setUpWithError() throws {
        cli = try CLIRunner()
        try cli.simulate(cells: 9000, dims: 10, batches: 3, types: 4, seed: 3)
        // The same numbers as a float32 .npy with its ids sidecar (read by row range in the MPI fit).
        let embedding = try Embedding.read(cli.directory.appendingPathComponent("data/pcs.tsv.gz").path)
        try Data(NumpyFile.encode(embedding.floatValues)).write(to: cli.directory.appendingPathComponent("pcs.npy"))
        try cli.write("pcs.ids.txt", embedding.ids.joined(separator: "\n") + "\n")
    }

    override func tearDown() {
        cli.remove()
    }

    private static let mpirun = URL(fileURLWithPath: "/usr/bin/mpirun")

    /// Runs `mpirun --oversubscribe -np processes harmony-mpi args...` (allowed as root, one thread per rank).
    private func mpi(_ processes: Int, _ args: [String], file: StaticString = #filePath,
                     line: UInt = #line) throws -> CLIRunner.Outcome {
        let binary = BuiltBinary.url("harmony-mpi")
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: binary.path),
                      "\(binary.path) is missing: build with HARMONY_MPI=1 (Samples/test.sh does)", file: file, line: line)
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: Self.mpirun.path),
                      "mpirun is missing: Samples/setup.sh installs Open MPI", file: file, line: line)
        return try cli.run(["--oversubscribe", "-np", "\(processes)", binary.path] + args, executable: Self.mpirun,
                           environment: ["OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
                                         "OMPI_MCA_btl": "self,vader,tcp"])
    }

    private func fitArgs(_ out: String) -> [String] {
        ["fit", "pcs.npy", "--meta", "data/meta.tsv.gz", "--vars", "batch", "--threads", "1", "--out", out]
    }

    private func matrix(_ name: String) throws -> Matrix<Double> {
        try NumpyFile.readMatrix(cli.directory.appendingPathComponent(name).path)
    }

    private func bytes(_ name: String) throws -> Data {
        try Data(contentsOf: cli.directory.appendingPathComponent(name))
    }

    /// Largest |a - b| over max |b|.
    private func relativeDifference(_ a: Matrix<Double>, _ b: Matrix<Double>) -> Float {
        XCTAssertEqual(a.rows, b.rows)
        XCTAssertEqual(a.cols, b.cols)
        let scale = b.values.map { abs($0) }.max() ?? 1
        let worst = zip(a.values, b.values).map { abs($0 - $1) }.max() ?? .infinity
        return Float(worst / scale)
    }

    func testOneProcessIsTheSingleProcessFitBitForBit() throws {
        let single = try cli.run(fitArgs("single.npy"))
        XCTAssertEqual(single.status, 0, single.stderr)
        let one = try mpi(1, fitArgs("one.npy"))
        XCTAssertEqual(one.status, 0, one.stderr)
        XCTAssertEqual(try bytes("one.npy"), try bytes("single.npy"))
        XCTAssertEqual(try bytes("one.ids.txt"), try bytes("single.ids.txt"))
    }

    func testTwoAndThreeProcessesMatchTheSingleProcessFitAndRepeat() throws {
        let single = try cli.run(fitArgs("single.npy"))
        XCTAssertEqual(single.status, 0, single.stderr)
        let reference = try matrix("single.npy")
        for processes in [2, 3] {
            let r = try mpi(processes, fitArgs("p\(processes).npy"))
            XCTAssertEqual(r.status, 0, r.stderr)
            let difference = relativeDifference(try matrix("p\(processes).npy"), reference)
            XCTAssertLessThanOrEqual(difference, tolerance, "\(processes) processes")
            XCTAssertEqual(try bytes("p\(processes).ids.txt"), try bytes("single.ids.txt"))
        }
        // A text embedding is read whole by every rank, which keeps its rows.
        let text = try mpi(2, ["fit", "data/pcs.tsv.gz", "--meta", "data/meta.tsv.gz", "--vars", "batch", "--threads", "1",
                               "--out", "text.npy"])
        XCTAssertEqual(text.status, 0, text.stderr)
        XCTAssertEqual(try bytes("text.npy"), try bytes("p2.npy"))
        let again = try mpi(3, fitArgs("again.npy"))
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertEqual(try bytes("again.npy"), try bytes("p3.npy"), "a rank count gives the same bits on every run")
    }

    /// An .h5ad input is read as hyperslabs of its obsm array; obs gives the batches and the cell ids.
    func testH5adInputMatchesTheSingleProcessFit() throws {
        let prepare = try cli.run(["fit", "pcs.npy", "--meta", "data/meta.tsv.gz", "--vars", "batch", "--max-iter", "1",
                                   "--out", "input.h5ad"])
        XCTAssertEqual(prepare.status, 0, prepare.stderr)
        let args = ["fit", "input.h5ad", "--basis", "X_pca_harmony", "--vars", "batch", "--threads", "1", "--out"]
        let single = try cli.run(args + ["single.npy"])
        XCTAssertEqual(single.status, 0, single.stderr)
        let r = try mpi(3, args + ["p3.npy"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertLessThanOrEqual(relativeDifference(try matrix("p3.npy"), try matrix("single.npy")), tolerance)
        XCTAssertEqual(try bytes("p3.ids.txt"), try bytes("single.ids.txt"))
    }

    /// A bad input stops every rank with status 2; rank 0 alone prints the error; nothing is written.
    func testBadInputFailsOnceWithStatusTwo() throws {
        let r = try mpi(2, ["fit", "pcs.npy", "--meta", "data/meta.tsv.gz", "--vars", "no_such_column", "--out", "out.npy"])
        XCTAssertEqual(r.status, 2, r.stderr)
        let errors = r.stderr.split(separator: "\n").filter { $0.hasPrefix("error: ") }
        XCTAssertEqual(errors.count, 1, r.stderr)
        XCTAssertTrue(errors.first?.contains("no_such_column") ?? false, r.stderr)
        XCTAssertFalse(cli.exists("out.npy"))
        // 9,000 cells are 5 runs of 2,048: a sixth process would hold none.
        let many = try mpi(6, fitArgs("out.npy"))
        XCTAssertEqual(many.status, 2, many.stderr)
        XCTAssertTrue(many.stderr.contains("use at most 5 processes"), many.stderr)
        XCTAssertFalse(cli.exists("out.npy"))
    }
}
