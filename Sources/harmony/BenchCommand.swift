import ArgumentParser
import HarmonyCore
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
            rounds. Reports the median time of each phase (initialization, clustering, correction), the time \
            per iteration and the peak resident memory of the process. --write-inputs saves the simulated \
            data so another implementation can be timed on the same input.

            Examples:
              harmony bench --cells 100000 --dims 30 --batches 4
              harmony bench --cells 20000 --dims 20 --batches 3 --nclust 50 --repeat 5 --json
              harmony bench --cells 50000 --dims 30 --batches 2 --write-inputs /tmp/bench-data
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

    func validate() throws {
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
        for r in 0..<repeats {
            let clock = Stopwatch()
            let result = try Harmony.fit(data.embedding, covariates: [batch], parameters: parameters)
            runs.append((clock.elapsed, result.timings, result.iterations, result.resolved.nClusters))
            if !json { fputs("harmony bench: run \(r + 1)/\(repeats): \(FitCommand.seconds(clock.elapsed))\n", stderr) }
        }
        let median = { (f: (PhaseTimings) -> Double) in LISI.median(runs.map { f($0.timings) }) }
        let wall = LISI.median(runs.map(\.wall))
        let iterationsRun = runs.last?.iterations ?? 0
        let stats: [(String, Double)] = [
            ("initialization", median { $0.initialization }), ("clustering", median { $0.clustering }),
            ("correction", median { $0.correction }), ("total", median { $0.total }),
            ("wall", wall), ("per_iteration", wall / Double(max(1, iterationsRun))),
        ]
        let peak = Stopwatch.peakResidentBytes()
        if json {
            var object: [String: Any] = [
                "cells": cells, "dims": dims, "batches": batches, "types": types, "K": runs.last?.k ?? 0,
                "iterations": iterationsRun, "rounds": rounds, "threads": threads, "repeat": repeats, "seed": seed,
                "simulate_seconds": simulateSeconds, "peak_rss_bytes": peak,
                "runs_seconds": runs.map(\.wall),
            ]
            object["median_seconds"] = Dictionary(uniqueKeysWithValues: stats)
            print(String(decoding: try FitReport.encode(object), as: UTF8.self), terminator: "")
        } else {
            print("cells \(cells), dims \(dims), batches \(batches), K \(runs.last?.k ?? 0), \(iterationsRun) iterations x \(rounds) rounds, threads \(threads), median of \(repeats)")
            for (name, s) in stats { print("  \(name.padding(16)) \(FitCommand.seconds(s))") }
            print("  \("peak memory".padding(16)) \(peak / (1 << 20)) MiB")
        }
    }
}
