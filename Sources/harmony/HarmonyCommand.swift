import ArgumentParser
import HarmonyCore
import HarmonyProtocol
#if canImport(Glibc)
import Glibc
#endif

/// The `harmony` tool: batch integration of single-cell embeddings, and the tools around it.
///
/// Exit status (contract): 0 success, 1 runtime failure, 2 bad usage or bad input. Every failure prints one
/// `error: ...` line on stderr; see `CommandFailure` for how errors are classified.
@main
struct HarmonyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "harmony",
        abstract: "Harmony batch integration for single-cell embeddings.",
        discussion: """
            Integrate an embedding (cells x dimensions, e.g. PCA) over batch variables, map query cells onto \
            a saved reference, score the mixing with LISI, lay cells out in 2-D (UMAP) and draw pictures, \
            simulate test data, benchmark the fit, or talk to a running harmonyd.

              harmony fit pcs.tsv.gz --meta meta.tsv.gz --vars batch --out corrected.tsv.gz --reference-out ref.hmod
              harmony reference counts_10x_dir --meta meta.tsv.gz --vars batch --labels cell_type --out ref.hmod
              harmony map query.tsv.gz --reference ref.hmod --meta qmeta.tsv.gz --batch-key batch --out mapped.tsv.gz
              harmony lisi corrected.tsv.gz --meta meta.tsv.gz --vars batch,cell_type
              harmony plot embedding --before pcs.tsv.gz --after corrected.tsv.gz --meta meta.tsv.gz --color-by batch --out umap.png
              harmony simulate --cells 3000 --dims 20 --batches 3 --types 5 --seed 1 --out-dir data

            Exit status: 0 on success, 1 on a runtime failure, 2 on bad usage or bad input.
            """,
        version: "harmony \(HarmonyRelease.version)",
        subcommands: [FitCommand.self, ReferenceCommand.self, MapCommand.self, LisiCommand.self, UmapCommand.self,
                      PlotCommand.self, SimulateCommand.self, BenchCommand.self, InspectCommand.self, ClientCommand.self])

    /// Parses, runs, and maps every failure to the exit status contract.
    static func main() {
        #if HARMONY_MPI
        if HarmonyMPICommand.invoked { HarmonyMPICommand.runDistributed() }
        #endif
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            Glibc.exit(CommandFailure.report(error, helpFrom: self))
        }
    }
}
