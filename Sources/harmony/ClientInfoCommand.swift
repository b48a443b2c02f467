import ArgumentParser

/// `harmony client info`: prints the daemon's model and limits as JSON.
struct ClientInfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info", abstract: "Print the daemon's model (version, d, K, batches, labels) and limits as JSON.")

    @OptionGroup var connection: ClientConnectionOptions

    func run() throws {
        try ClientConnectionOptions.run {
            print(ClientJSON.render(try connection.connect().info()))
        }
    }
}
