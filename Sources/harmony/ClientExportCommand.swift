import ArgumentParser
import HarmonyCore

/// `harmony client export`: writes the daemon's current corrections of one query batch.
struct ClientExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write the daemon's current corrections of every cell of one query batch.",
        discussion: """
            The corrections use every cell of the batch at once, so once the whole batch has been sent they equal \
            what offline `harmony map` writes for it with the daemon's model. The extension of --out picks the format.

              harmony client export --batch sample1 --out sample1.tsv.gz --socket h.sock
            """)

    @OptionGroup var connection: ClientConnectionOptions

    @Option(name: .long, help: "The query batch to export (as sent in MAP requests).")
    var batch: String

    @Option(name: .long, help: "Output file (.tsv, .csv, .txt, optionally .gz, or .npy with an ids sidecar).")
    var out: String

    @Option(name: .long, help: "Prefix of the dimension column names in the output header (PC gives PC1, PC2, ...).")
    var columnPrefix: String = "PC"

    func run() throws {
        try ClientConnectionOptions.run {
            let reply = try connection.connect().export(batch: batch)
            let values = Matrix(rows: reply.cellCount, cols: reply.dimensions, values: reply.corrected)
            try MatrixWriter.write(values, ids: reply.cellIDs,
                                   columnNames: (1...max(1, reply.dimensions)).prefix(reply.dimensions)
                                       .map { "\(columnPrefix)\($0)" },
                                   to: out)
            ClientConnectionOptions.report("harmony client: exported \(reply.cellCount) cells of batch '\(batch)' "
                                           + "(model version \(reply.modelVersion)) to \(out)")
        }
    }
}
