import ArgumentParser
import HarmonyCore

/// The UMAP settings shared by `harmony umap` and `harmony plot`.
struct UMAPOptions: ParsableArguments {
    @Option(help: ArgumentHelp("UMAP: neighbours per cell in the kNN graph (the cell itself not counted).", valueName: "k"))
    var neighbors: Int = 15

    @Option(name: .customLong("min-dist"), help: ArgumentHelp("UMAP: how tightly points may pack in the layout (umap-learn's min_dist).", valueName: "d"))
    var minDist: Double = 0.1

    @Option(help: ArgumentHelp("UMAP: optimisation epochs (default: 500 up to 10,000 cells, 200 above).", valueName: "n"))
    var epochs: Int?

    @Option(help: ArgumentHelp("Seed of the layout's start jitter and sampling (and of the drawing order of points); same seed, same picture.", valueName: "n"))
    var seed: UInt64 = 0

    @Option(help: ArgumentHelp("Worker threads for the neighbour search and the optimisation; 0 uses every core. Results do not depend on it.", valueName: "n"))
    var threads: Int = 0

    /// The library's parameter struct.
    var parameters: UMAPParameters {
        var p = UMAPParameters()
        p.neighbors = neighbors
        p.minDist = minDist
        p.epochs = epochs
        p.seed = seed
        p.threads = threads
        return p
    }

    func validate() throws {
        guard neighbors >= 2 else { throw ValidationError("--neighbors must be at least 2.") }
        guard minDist >= 0 && minDist < 3 && minDist.isFinite else { throw ValidationError("--min-dist must be in [0, 3).") }
        if let epochs, epochs < 1 { throw ValidationError("--epochs must be at least 1.") }
        guard threads >= 0 else { throw ValidationError("--threads must be 0 (every core) or positive.") }
    }
}
