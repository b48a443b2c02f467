import ArgumentParser

@main
struct HarmonyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "harmony",
        abstract: "Harmony batch integration for single-cell embeddings.",
        subcommands: [ClientCommand.self])
}
