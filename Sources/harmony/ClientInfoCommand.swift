import ArgumentParser

/// `harmony client info`: prints the daemon's model and limits as JSON.
struct ClientInfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info", abstract: "Print the daemon's model (version, d, K, batches, labels, gene count, whether replies carry mapping distances) and limits as JSON.",
        discussion: """
              harmony client info --socket h.sock
              harmony client info --socket h.sock | python3 -c 'import json,sys; print(json.load(sys.stdin)["labels"])'
            """)

    @OptionGroup var connection: ClientConnectionOptions

    func run() throws {
        try ClientConnectionOptions.run {
            print(ClientJSON.render(try connection.connect().info()))
        }
    }
}
