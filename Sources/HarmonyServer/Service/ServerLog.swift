// One line per event on stderr: `harmonyd <UTC time> <event> <details>`.
// Thread contract: loop thread (and start-up); each line is one `write(2)`, so lines never interleave.
#if canImport(Glibc)
import Glibc
#endif

/// The daemon's event log.
struct ServerLog {
    /// When true nothing is written.
    var quiet: Bool

    /// Writes `event` and `details` as one line.
    func event(_ event: String, _ details: String = "") {
        guard !quiet else { return }
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var parts = tm()
        var seconds = now.tv_sec
        gmtime_r(&seconds, &parts)
        let stamp = String(format2: parts.tm_hour) + ":" + String(format2: parts.tm_min) + ":"
            + String(format2: parts.tm_sec) + "." + String(now.tv_nsec / 1_000_000 + 1000).dropFirst()
        let line = "harmonyd \(stamp) \(event)" + (details.isEmpty ? "" : " \(details)") + "\n"
        var bytes = Array(line.utf8)
        _ = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress, $0.count) }
    }
}

private extension String {
    /// Two decimal digits with a leading zero.
    init(format2 value: Int32) { self = value < 10 ? "0\(value)" : "\(value)" }
}
