import ArgumentParser
import HarmonyCore
import HarmonySystem
#if canImport(Glibc)
import Glibc
#endif

/// `harmony bench`: times the fit on simulated data, per phase, without touching the disk.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time Harmony on simulated data (per phase, median of repeats).",
        discussion: """
            Simulates a data set in memory (as 'harmony simulate'), then fits it --repeat times with early \
            stopping off, so that every run does exactly --iterations iterations of --rounds clustering \
            rounds. Reports the median time of each phase (initialization, of which the k-means start, \
            clustering, correction), the time per iteration and the peak resident memory of the process. \
            --write-inputs saves the simulated data so another implementation can be timed on the same input.

            Then it measures what this machine can do at best for the same size on the same threads, and prints \
            the fraction of that bound the fit reached (bound / measured; 100% would be the hardware limit): \
            the k-means start against ten of its Lloyd assignments (the nearest centroid of every cell, timed \
            both as N x K x d sgemm products with an argmin and by the fit's kernel that never writes the \
            scores; the faster counts), and each iteration against its unavoidable work: three such products (the logits, \
            and the correction's two), N x K exponentials, and streaming the N x K assignment array once per \
            round plus four more times (write and read of the cached exponentials and of R), at the measured \
            read bandwidth. --no-bound skips this.

            --map-cells N also benchmarks reference mapping: the last fit becomes a reference model (with the \
            simulated cell types as labels), N of its cells are streamed as a new batch through the streaming \
            mapper in --map-chunk-cell chunks on one thread (cells per CPU second), and labels are transferred \
            to them by the exact kNN index (build and search timed apart); the search is then repeated as harmonyd does it, one request at a time on one thread: per --map-chunk chunk and per single cell (CPU microseconds a cell).

            Examples:
              harmony bench --cells 100000 --dims 30 --batches 4
              harmony bench --cells 20000 --dims 20 --batches 3 --nclust 50 --repeat 5 --json
              harmony bench --cells 50000 --dims 30 --batches 2 --write-inputs /tmp/bench-data
              harmony bench --cells 1000000 --dims 30 --batches 4 --repeat 1 --map-cells 100000
              harmony bench --cells 1000000 --dims 30 --batches 64 --repeat 3 --no-bound
            """)

    @Option(help: ArgumentHelp("Number of simulated cells.", valueName: "N"))
    var cells: Int

    @Option(help: ArgumentHelp("Embedding dimensions.", valueName: "D"))
    var dims: Int

    @Option(help: ArgumentHelp("Number of batches.", valueName: "B"))
    var batches: Int

    @Option(help: ArgumentHelp("Number of simulated cell types.", valueName: "T"))
    var types: Int = 10

    @Option(help: ArgumentHelp("Number of clusters K (default min(round(N / 30), 100)).", valueName: "K"))
    var nclust: Int?

    @Option(help: ArgumentHelp("Harmony iterations per fit (all run: early stopping is off).", valueName: "n"))
    var iterations: Int = 10

    @Option(help: ArgumentHelp("Clustering rounds per iteration.", valueName: "n"))
    var rounds: Int = 4

    @Option(help: ArgumentHelp("Worker threads; 0 uses every core.", valueName: "n"))
    var threads: Int = 2

    @Option(name: .customLong("repeat"), help: ArgumentHelp("Fits to run; medians are reported.", valueName: "n"))
    var repeats: Int = 3

    @Option(help: ArgumentHelp("Seed of the simulation and of the fit.", valueName: "S"))
    var seed: UInt64 = 0

    @Flag(help: "Print the results as JSON instead of a table.")
    var json = false

    @Option(name: .customLong("write-inputs"), help: ArgumentHelp(
        "Also write the simulated data (pcs.tsv.gz, meta.tsv.gz) to this directory.", valueName: "dir"))
    var writeInputs: String?

    @Flag(name: .customLong("no-bound"), help: "Do not measure the hardware bound after the fits.")
    var noBound = false

    @Option(name: .customLong("map-cells"), help: ArgumentHelp(
        "Also time mapping this many cells onto the fitted reference, and kNN label transfer (0: no).", valueName: "N"))
    var mapCells: Int = 0

    @Option(name: .customLong("map-chunk"), help: ArgumentHelp("Cells per streamed mapping chunk.", valueName: "n"))
    var mapChunk: Int = 1000

    func validate() throws {
        guard mapCells >= 0, mapCells <= cells else { throw ValidationError("--map-cells must be between 0 and --cells.") }
        guard mapChunk >= 1 else { throw ValidationError("--map-chunk must be at least 1.") }
        guard cells >= FitInput.minimumCells else { throw ValidationError("--cells must be at least \(FitInput.minimumCells).") }
        guard dims >= 1, types >= 1 else { throw ValidationError("--dims and --types must be at least 1.") }
        guard batches >= 2 else { throw ValidationError("--batches must be at least 2.") }
        if let nclust, nclust < 1 { throw ValidationError("--nclust must be at least 1.") }
        guard iterations >= 1, rounds >= 1, repeats >= 1 else {
            throw ValidationError("--iterations, --rounds and --repeat must be at least 1.")
        }
        guard threads >= 0 else { throw ValidationError("--threads must be 0 (every core) or positive.") }
    }

    func run() throws {
        let simClock = Stopwatch()
        let data = Simulator.generate(SimulationSpec(cells: cells, dims: dims, batches: batches, types: types, seed: seed))
        let simulateSeconds = simClock.elapsed
        if let writeInputs { try SimulateCommand.write(data, to: writeInputs, npy: false) }
        let batch = Covariate(name: "batch", labels: data.batch)
        var parameters = HarmonyParameters()
        parameters.earlyStop = false
        parameters.maxIterations = iterations
        parameters.maxClusterRounds = rounds
        parameters.nClusters = nclust
        parameters.threads = threads
        parameters.seed = seed

        var runs: [(wall: Double, timings: PhaseTimings, iterations: Int, k: Int)] = []
        var lastFit: HarmonyFitResult?
        for r in 0..<repeats {
            let clock = Stopwatch()
            let result = try Harmony.fit(data.embedding, covariates: [batch], parameters: parameters)
            runs.append((clock.elapsed, result.timings, result.iterations, result.resolved.nClusters))
            lastFit = result
            if !json { StandardError.write("harmony bench: run \(r + 1)/\(repeats): \(FitCommand.seconds(clock.elapsed))\n") }
        }
        let median = { (f: (PhaseTimings) -> Double) in LISI.median(runs.map { f($0.timings) }) }
        let wall = LISI.median(runs.map(\.wall))
        let iterationsRun = runs.last?.iterations ?? 0
        let stats: [(String, Double)] = [
            ("initialization", median { $0.initialization }), ("kmeans_start", median { $0.kmeansStart }),
            ("clustering", median { $0.clustering }),
            ("correction", median { $0.correction }), ("total", median { $0.total }),
            ("wall", wall), ("per_iteration", wall / Double(max(1, iterationsRun))),
        ]
        var mapping: [(String, Double)] = []
        if mapCells > 0, let fit = lastFit {
            mapping = try benchMapping(fit: fit, data: data, batch: batch, parameters: parameters)
        }
        let peak = Stopwatch.peakResidentBytes()
        // The hardware bound for this size (see the discussion).
        let floors = noBound ? nil : runs.last.map {
            HardwareBound.measure(embedding: data.embedding, clusters: $0.k, threads: threads)
        }
        let kmeansStart = median { $0.kmeansStart }
        let perIteration = median { $0.clustering + $0.correction } / Double(max(1, iterationsRun))
        let iterationFloor = floors?.iterationSeconds(rounds: rounds) ?? 0
        var bound: [(String, Double)] = []
        if let floors {
            bound = [("read_bandwidth_bytes_per_s", floors.bandwidth), ("sgemm_seconds", floors.gemmSeconds),
                     ("sgemm_argmin_seconds", floors.gemmArgminSeconds),
                     ("nearest_kernel_seconds", floors.nearestKernelSeconds), ("exp_seconds", floors.expSeconds),
                     ("kmeans_start_floor_seconds", floors.kmeansStartSeconds),
                     ("kmeans_start_fraction", floors.kmeansStartSeconds / kmeansStart),
                     ("iteration_floor_seconds", iterationFloor), ("iteration_seconds", perIteration),
                     ("iteration_fraction", iterationFloor / perIteration)]
        }
        if json {
            var object: [String: Any] = [
                "cells": cells, "dims": dims, "batches": batches, "types": types, "K": runs.last?.k ?? 0,
                "iterations": iterationsRun, "rounds": rounds, "threads": threads, "repeat": repeats, "seed": seed,
                "simulate_seconds": simulateSeconds, "peak_rss_bytes": peak,
                "runs_seconds": runs.map(\.wall),
            ]
            object["median_seconds"] = Dictionary(uniqueKeysWithValues: stats)
            if !mapping.isEmpty { object["mapping"] = Dictionary(uniqueKeysWithValues: mapping) }
            if !bound.isEmpty { object["hardware_bound"] = Dictionary(uniqueKeysWithValues: bound) }
            print(String(decoding: try FitReport.encode(object), as: UTF8.self), terminator: "")
        } else {
            print("cells \(cells), dims \(dims), batches \(batches), K \(runs.last?.k ?? 0), \(iterationsRun) iterations x \(rounds) rounds, threads \(threads), median of \(repeats)")
            for (name, s) in stats { print("  \(name.padding(16)) \(FitCommand.seconds(s))") }
            print("  \("peak memory".padding(16)) \(peak / (1 << 20)) MiB")
            if let floors {
                let gbps = Double(Int((floors.bandwidth / 1e8).rounded())) / 10
                func percent(_ fraction: Double) -> String { "\(Int((fraction * 100).rounded()))%" }
                print("hardware bound here (\(threads) threads): read \(gbps) GB/s, N x K x d sgemm \(FitCommand.seconds(floors.gemmSeconds)) (with argmin \(FitCommand.seconds(floors.gemmArgminSeconds)); the k-means kernel \(FitCommand.seconds(floors.nearestKernelSeconds))), N x K exp \(FitCommand.seconds(floors.expSeconds))")
                print("  \("k-means start".padding(16)) floor \(FitCommand.seconds(floors.kmeansStartSeconds)), reached \(percent(floors.kmeansStartSeconds / kmeansStart))")
                print("  \("iteration".padding(16)) floor \(FitCommand.seconds(iterationFloor)), measured \(FitCommand.seconds(perIteration)), reached \(percent(iterationFloor / perIteration))")
            }
            if !mapping.isEmpty {
                print("mapping \(mapCells) cells in \(mapChunk)-cell chunks (one thread) and kNN label transfer (k 5)")
                for (name, value) in mapping { print("  \(name.padding(28)) \(value)") }
            }
        }
    }

    /// Streams `mapCells` simulated cells as one new batch through a `QueryState` built on the fitted reference
    /// (CPU time of this thread), then times the kNN index build and search for them.
    private func benchMapping(fit: HarmonyFitResult, data: SimulatedData, batch: Covariate,
                              parameters: HarmonyParameters) throws -> [(String, Double)] {
        let loadClock = Stopwatch()
        let model = try ReferenceModel.build(fit: fit, embedding: data.embedding, covariates: [batch],
                                             parameters: parameters, cellIds: data.ids,
                                             labels: (name: "cell_type", values: data.cellType), compact: false)
        let buildSeconds = loadClock.elapsed
        let query = data.embedding.selectingRows(0..<mapCells)
        var state = QueryState(mapper: try QueryMapper(model: model), batchKey: "batch")
        // The output buffer is allocated and touched before the clock starts: its first-touch page faults
        // (about 30 per 1000 cells at 30 dims) belong to the caller's memory, not to the mapping.
        var corrected = [Float](repeating: 0, count: mapCells * dims)
        let cpuStart = threadCPUSeconds(), wallClock = Stopwatch()
        for start in stride(from: 0, to: mapCells, by: mapChunk) {
            let chunk = query.selectingRows(start..<min(mapCells, start + mapChunk))
            let mapped = try state.add(cells: chunk, batch: "bench-query").corrected.values
            corrected.withUnsafeMutableBufferPointer { out in
                mapped.withUnsafeBufferPointer { (out.baseAddress! + start * dims).update(from: $0.baseAddress!, count: $0.count) }
            }
        }
        let cpu = threadCPUSeconds() - cpuStart, wall = wallClock.elapsed
        let indexClock = Stopwatch()
        guard let transfer = LabelTransfer(model: model, k: 5) else { return [] }
        let indexSeconds = indexClock.elapsed
        let searchClock = Stopwatch()
        _ = try transfer.predict(corrected: Matrix(rows: mapCells, cols: dims, values: corrected), assignments: nil)
        let searchSeconds = searchClock.elapsed
        // As harmonyd searches: one request's cells at a time (the --map-chunk chunks, and single cells) on one
        // thread, in CPU time of this thread, against an index over the same reference cells.
        let index = NearestNeighborIndex(points: fit.corrected)
        func searchCPU(chunk: Int, cells: Int) -> Double {
            let start = threadCPUSeconds()
            for first in stride(from: 0, to: cells, by: chunk) {
                _ = index.search(Matrix(rows: min(chunk, cells - first), cols: dims,
                                        values: Array(corrected[(first * dims)..<(min(cells, first + chunk) * dims)])),
                                 k: transfer.k, threads: 1)
            }
            return (threadCPUSeconds() - start) / Double(cells) * 1e6
        }
        let chunkMicros = searchCPU(chunk: mapChunk, cells: mapCells)
        let singleMicros = searchCPU(chunk: 1, cells: min(mapCells, 2_000))
        return [("model_build_seconds", buildSeconds), ("map_cpu_seconds", cpu), ("map_wall_seconds", wall),
                ("map_cells_per_cpu_second", Double(mapCells) / cpu), ("knn_index_build_seconds", indexSeconds),
                ("knn_search_seconds", searchSeconds), ("knn_cpu_us_per_cell_in_chunks", chunkMicros),
                ("knn_cpu_us_per_single_cell", singleMicros)]
    }
}
