import ArgumentParser

/// `harmony client`: talks to a running harmonyd over its Unix socket.
struct ClientCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "client",
        abstract: "Talk to a running harmonyd (map query cells, read info and stats, ask for a refit, export, forget).",
        discussion: """
            Every subcommand connects to the daemon's Unix socket (--socket), negotiates the protocol version \
            (Protocols/harmonyd-protocol.md) and prints results on stdout (JSON for info, stats and refit).

              harmony client info --socket h.sock
              harmony client map q.tsv --meta meta.tsv --batch-key sample --out mapped.tsv --socket h.sock
              harmony client export --batch sample1 --out sample1.tsv --socket h.sock
              harmony client forget --batch sample1 --socket h.sock

            map sends the cells of each batch in chunks (--chunk-size, --window requests in flight), then asks \
            for every batch's final corrections, so its output equals offline `harmony map` of each batch; \
            --stream prints each chunk's immediate answer instead.

            Exit status: 0 on success, 1 on a runtime failure (connection, server state), 2 on bad input.
            """,
        subcommands: [ClientMapCommand.self, ClientInfoCommand.self, ClientStatsCommand.self,
                      ClientRefitCommand.self, ClientExportCommand.self, ClientForgetCommand.self])
}
