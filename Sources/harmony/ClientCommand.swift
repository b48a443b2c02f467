import ArgumentParser

/// `harmony client`: talks to a running harmonyd over its Unix socket.
struct ClientCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "client",
        abstract: "Talk to a running harmonyd (map query cells, read info and stats, ask for a refit, export).",
        subcommands: [ClientMapCommand.self, ClientInfoCommand.self, ClientStatsCommand.self,
                      ClientRefitCommand.self, ClientExportCommand.self])
}
