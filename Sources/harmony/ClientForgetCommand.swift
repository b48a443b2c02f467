import ArgumentParser

/// `harmony client forget`: drops every cell of one query batch from the daemon.
struct ClientForgetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "forget",
        abstract: "Drop every cell of one query batch from the daemon (a mistaken submission, say).",
        discussion: """
            The daemon logs the FORGET durably before it answers; from then on EXPORT, STATS and later refits \
            no longer see the batch's cells, also after a restart, and mapping the same ids again adds them \
            anew. Cells that a refit already folded into the served model stay in that model's reference.
            Prints the number of cells forgotten.

              harmony client forget --batch sample7 --socket h.sock

            Exit status: 0 on success, 2 when the daemon holds no cells of the batch, 1 on other failures.
            """)

    @OptionGroup var connection: ClientConnectionOptions

    @Option(name: .long, help: "The batch label whose cells to drop.")
    var batch: String

    func validate() throws {
        guard !batch.isEmpty else { throw ValidationError("--batch must not be empty.") }
    }

    func run() throws {
        try ClientConnectionOptions.run {
            let cells = try connection.connect().forget(batch: batch)
            print(ClientJSON.object([("batch", ClientJSON.string(batch)), ("cells_forgotten", "\(cells)")]))
        }
    }
}
