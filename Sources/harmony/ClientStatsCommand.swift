import ArgumentParser

/// `harmony client stats`: prints the daemon's counters and latency percentiles as JSON.
struct ClientStatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats", abstract: "Print the daemon's counters, refit state and latency percentiles as JSON.",
        discussion: """
              harmony client stats --socket h.sock
            """)

    @OptionGroup var connection: ClientConnectionOptions

    func run() throws {
        try ClientConnectionOptions.run {
            print(ClientJSON.render(try connection.connect().stats()))
        }
    }
}
