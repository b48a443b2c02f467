import ArgumentParser
import HarmonyServer

@main
struct HarmonyDaemon: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "harmonyd",
        abstract: "Serve a frozen Harmony reference over a Unix socket (libuv \(HarmonyServerInfo.libuvVersion)).")
}
