#if HARMONY_MPI
import ArgumentParser
import HarmonyCore
import HarmonyMPI
import HarmonyProtocol
#if canImport(Glibc)
import Glibc
#endif

// `harmony-mpi fit`: the Harmony fit spread over the processes of `mpirun -np P harmony-mpi fit ...`.
//
// Rank 0 reads the metadata and the cell ids and sends every rank the covariates (4 bytes per cell and
// covariate); then each rank reads only its own rows of the embedding: a contiguous range (CellShard.split) read
// by seeking in an .npy file or as a hyperslab of an .h5ad obsm array (a text embedding cannot be read in part:
// every rank reads it whole, with its metadata, and keeps its rows). The fit exchanges only sums (CellShard). The corrected rows are gathered on rank 0, which writes
// the same files `harmony fit` writes. A failure on any rank (a bad row, an unwritable output) stops every rank
// with the same exit status; rank 0 prints the one `error:` line.

/// The `harmony-mpi` executable: `harmony` built with HARMONY_MPI=1, under another name.
struct HarmonyMPICommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "harmony-mpi",
        abstract: "Harmony fit spread over MPI processes (run it with mpirun or srun).",
        discussion: """
            The same fit as 'harmony fit', with the cells split over the processes: each reads only its own rows \
            of the embedding, and the processes exchange only sums over their cells (per cluster and batch \
            level). Rank 0 writes the outputs.

              mpirun -np 4 harmony-mpi fit pcs.npy --meta meta.tsv --vars batch --out corrected.npy
              srun harmony-mpi fit atlas.h5ad --basis X_pca --vars sample --out integrated.h5ad

            Exit status: 0 on success, 1 on a runtime failure, 2 on bad usage or bad input.
            """,
        version: "harmony-mpi \(HarmonyRelease.version)",
        subcommands: [MPIFitCommand.self])

    /// Whether this process was started as `harmony-mpi`.
    static var invoked: Bool {
        (CommandLine.arguments.first?.split(separator: "/").last).map { $0 == "harmony-mpi" } ?? false
    }

    /// Initialises MPI, parses and runs on every rank, and finalises MPI; only rank 0 prints errors and help.
    static func runDistributed() -> Never {
        let communicator = MPICommunicator.start()
        var status: Int32 = 0
        do {
            var command = try parseAsRoot()
            if let fit = command as? MPIFitCommand {
                try fit.run(communicator)
            } else {
                try command.run()
            }
        } catch {
            status = CommandFailure.report(error, helpFrom: self, quiet: communicator.rank != 0)
        }
        communicator.finish()
        Glibc.exit(status)
    }
}

/// `harmony-mpi fit`: every option of `harmony fit` except the reference model, which needs all cells in one
/// process.
struct MPIFitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fit",
        abstract: "Integrate an embedding over batch variables, with the cells spread over MPI processes.",
        discussion: """
            Takes the options of 'harmony fit' (see below) and gives the same result: bit for bit with one \
            process, and with P processes the same fit up to the order in which the processes' sums are added \
            (a few float32 roundings; identical for a given P on every run). Each process reads only its rows \
            of an .npy or .h5ad embedding (a text embedding is read whole by every process); rank 0 reads the \
            metadata and sends the batch codes to the others. Rank 0 gathers the corrected rows and writes \
            --out and --report. The cells are cut into runs of 2,048 rows: at most one process per run. \
            --reference-out is not available here (the model keeps every cell's assignments): fit with \
            'harmony fit' for a reference.

            Examples:
              mpirun -np 4 harmony-mpi fit pcs.npy --meta meta.tsv --vars batch --out corrected.npy
              mpirun -np 16 --map-by node harmony-mpi fit atlas.h5ad --basis X_pca --vars sample,chemistry \\
                --threads 8 --out integrated.h5ad --report report.json
              srun harmony-mpi fit pcs.npy --meta meta.tsv.gz --vars donor --out corrected.npy   (in an sbatch script)
            """)

    @OptionGroup
    var fit: FitCommand

    func validate() throws {
        try fit.validate()
        if fit.reference.referenceOut != nil {
            throw ValidationError("--reference-out needs every cell in one process; build the reference with 'harmony fit'")
        }
    }

    func run() throws {
        throw CommandFailure(message: "harmony-mpi fit runs only as the harmony-mpi executable", status: CommandFailure.usageStatus)
    }

    /// The distributed fit on `communicator`'s ranks.
    func run(_ communicator: MPICommunicator) throws {
        let rank0 = communicator.rank == 0
        let readClock = Stopwatch()
        let (input, covariates, shard, rows) = try load(communicator)
        let readSeconds = readClock.elapsed
        if rank0 { AlgorithmOptions.warnAboutSingleCellLevels(covariates, command: "fit") }
        let parameters = try fit.algorithm.parameters(covariateCount: covariates.count)
        let n = shard.totalCells, d = rows.cols
        if rank0 {
            fit.progress("\(communicator.size) processes: read \(n) cells x \(d) dimensions (rank 0: \(shard.count) rows), \(covariates.map { "\($0.name): \($0.levels.count) levels" }.joined(separator: ", ")) in \(FitCommand.seconds(readSeconds))")
        }

        let fitClock = Stopwatch()
        let result = try Harmony.fit(rows, covariates: covariates, parameters: parameters, progress: { p in
            if rank0 {
                fit.progress("iteration \(p.iteration): objective \(String(format: "%.6g", p.objective)), \(p.clusterRounds) clustering rounds, \(FitCommand.seconds(p.elapsed))")
            }
        }, shard: shard)
        let fitSeconds = fitClock.elapsed
        if rank0 {
            fit.progress(result.converged
                ? "converged after \(result.iterations) iterations in \(FitCommand.seconds(fitSeconds))"
                : "stopped after \(result.iterations) iterations (not converged) in \(FitCommand.seconds(fitSeconds))")
            fit.progress("rank 0 exchanged \(communicator.allGatherBytes) bytes in \(communicator.allGatherCalls) all-gathers (\(FitCommand.seconds(communicator.allGatherSeconds)) in them, with the waits for other ranks) and received \(communicator.broadcastBytes) bytes of covariates")
        }
        try agreed(communicator, status: CommandFailure.usageStatus) {
            guard result.corrected.values.allSatisfy({ $0.isFinite }) else {
                throw CommandFailure(message: "\(fit.files.embedding): the fit produced non-finite values; the embedding's "
                                     + "magnitude overflows float32 arithmetic, rescale it", status: CommandFailure.usageStatus)
            }
        }
        let counts = (0..<communicator.size).map { CellShard.rows(of: $0, ranks: communicator.size, cells: n).count * d }
        let gathered = communicator.gather(result.corrected.values, counts: counts)
        try agreed(communicator, status: CommandFailure.runtimeStatus) {
            guard let gathered, let input else { return }
            var whole = result
            whole.corrected = Matrix(rows: n, cols: d, values: gathered)
            let names = input.embedding.columnNames.isEmpty ? columnNames(dims: d) : input.embedding.columnNames
            try fit.write(whole, input: input, columnNames: names, parameters: parameters, labels: nil,
                          readSeconds: readSeconds, fitSeconds: fitSeconds)
        }
    }

    /// The inputs of this rank: the metadata-joined input on rank 0 (for the outputs; nil on the others), the
    /// covariates of all cells, the shard and its rows of the embedding. Errors stop every rank (status 2).
    private func load(_ communicator: MPICommunicator) throws
        -> (input: FitInput?, covariates: [Covariate], shard: CellShard, rows: Matrix<Float>) {
        let files = fit.files
        let partial = (try? MatrixFileFormat(path: files.embedding)) == .npy || files.embedding.lowercased().hasSuffix(".h5ad")
        let input = try agreed(communicator, status: CommandFailure.usageStatus) { () -> FitInput? in
            guard communicator.rank == 0 || !partial else { return nil }
            return try CommandFailure.readingInput {
                try FitInput.load(embedding: files.embedding, metadata: files.meta, columns: files.vars.names,
                                  basis: files.basis, values: false)
            }
        }
        let covariates = partial ? CovariateMessage.decode(communicator.broadcast(input.map { CovariateMessage.encode($0.covariates) } ?? []))
                                 : input!.covariates
        let cells = covariates[0].codes.count
        let shard = CellShard.split(cells: cells, communicator: communicator)
        let rows = try agreed(communicator, status: CommandFailure.usageStatus) { () -> Matrix<Float> in
            let runs = CellShard.runs(cells: cells)
            guard runs >= communicator.size else {
                throw CommandFailure(message: "\(files.embedding): \(cells) cells make \(runs) runs of \(CellShard.runLength) cells, the unit of work of a process; use at most \(runs) processes",
                                     status: CommandFailure.usageStatus)
            }
            return try CommandFailure.readingInput { () -> Matrix<Float> in
                if let basis = files.basis, files.embedding.lowercased().hasSuffix(".h5ad") {
                    return try AnnData.open(files.embedding).obsmRows(basis, rows: shard.range)
                }
                if partial { return try NumpyFile.readRows(files.embedding, rows: shard.range) }
                return input!.embedding.values.selectingRows(shard.range).converted(to: Float.self)
            }
        }
        return (communicator.rank == 0 ? input : nil, covariates, shard, rows)
    }

    /// Column names of the output for an input read in part (.npy, .h5ad), as `harmony fit` names them.
    private func columnNames(dims d: Int) -> [String] {
        if fit.files.embedding.lowercased().hasSuffix(".h5ad"), let basis = fit.files.basis {
            return (1...max(d, 1)).prefix(d).map { "\(basis)_\($0)" }
        }
        return (0..<d).map { "PC\($0 + 1)" }
    }

    /// Runs `body` on every rank; if it failed on any, every rank throws the first failing rank's error (with its
    /// exit status; `status` for errors that carry none).
    private func agreed<T>(_ communicator: MPICommunicator, status: Int32, _ body: () throws -> T) throws -> T {
        var outcome: Result<T, Error>
        do { outcome = .success(try body()) } catch { outcome = .failure(error) }
        var report: [UInt8] = []
        if case .failure(let error) = outcome {
            let code: Int32
            switch error {
            case let e as CommandFailure: code = e.status
            case let e as HarmonyError: code = CommandFailure.status(of: e)
            default: code = status
            }
            report = [UInt8(code)] + Array(String(describing: error).utf8)
        }
        let all = communicator.allGather(bytes: report)
        if let first = all.first(where: { !$0.isEmpty }) {
            throw CommandFailure(message: String(decoding: first.dropFirst(), as: UTF8.self), status: Int32(first[0]))
        }
        return try outcome.get()
    }
}
#endif
