import ArgumentParser

/// `harmony client refit`: asks the daemon for a background refit and prints its answer as JSON.
struct ClientRefitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "refit", abstract: "Ask the daemon to refit the reference with the accumulated cells.",
        discussion: """
            The refit runs in the background; the daemon keeps answering with the current model and swaps in the \
            new one (a higher model version in `info` and `stats`) when it is done.

              harmony client refit --socket h.sock
            """)

    @OptionGroup var connection: ClientConnectionOptions

    func run() throws {
        try ClientConnectionOptions.run {
            print(ClientJSON.render(try connection.connect().refit()))
        }
    }
}
