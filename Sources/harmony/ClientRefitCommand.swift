import ArgumentParser

/// `harmony client refit`: asks the daemon for a background refit and prints its answer as JSON.
struct ClientRefitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "refit", abstract: "Ask the daemon to refit the reference with the accumulated cells.")

    @OptionGroup var connection: ClientConnectionOptions

    func run() throws {
        try ClientConnectionOptions.run {
            print(ClientJSON.render(try connection.connect().refit()))
        }
    }
}
