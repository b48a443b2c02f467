// One line per event on stderr: `harmonyd <ISO-8601 UTC time> <level> <event> <details>`, e.g.
// `harmonyd 2026-11-30T10:40:02.123Z info start socket=/run/h.sock ...`, or with --log-format json one object
// `{"time":"2026-11-30T10:40:02.123Z","level":"info","event":"start","details":"socket=/run/h.sock ..."}`.
// Thread contract: loop thread (and start-up); each line is one `StandardError.write`, so lines never interleave.
import HarmonyCore
import HarmonySystem
#if canImport(Glibc)
import Glibc
#endif

/// The daemon's event log.
struct ServerLog {
    /// How much an event matters to the operator.
    enum Level: String {
        /// Normal operation.
        case info
        /// Something was refused or dropped, and the daemon goes on.
        case warning
        /// A failure the operator should look at.
        case error
    }

    /// When true nothing is written.
    var quiet: Bool
    /// When true each line is a JSON object.
    var json = false

    /// Writes `event` and `details` as one line.
    func event(_ event: String, _ details: String = "", level: Level = .info) {
        guard !quiet else { return }
        StandardError.write(line(event, details, level: level, time: ServerLog.timestamp()))
    }

    /// The text of one log line, newline included.
    func line(_ event: String, _ details: String, level: Level, time: String) -> String {
        guard json else {
            return "harmonyd \(time) \(level.rawValue) \(event)" + (details.isEmpty ? "" : " \(details)") + "\n"
        }
        return JSONText.object([("time", JSONText.string(time)), ("level", JSONText.string(level.rawValue)),
                                ("event", JSONText.string(event)), ("details", JSONText.string(details))]) + "\n"
    }

    /// The current UTC time as ISO 8601 with milliseconds, e.g. `2026-11-30T10:40:02.123Z`.
    static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var parts = tm()
        var seconds = now.tv_sec
        gmtime_r(&seconds, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let millis = String(now.tv_nsec / 1_000_000 + 1000).dropFirst()
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):"
            + "\(two(parts.tm_min)):\(two(parts.tm_sec)).\(millis)Z"
    }
}

/// At most `perSecond` log lines a second for one kind of event (refused requests): a misbehaving client must
/// not flood the log. What was held back is counted and reported with the next line let through.
struct LogRateLimit {
    /// Lines let through per second.
    let perSecond: Int
    private var windowStart: UInt64 = 0
    private var inWindow = 0
    private var held = 0

    /// A limit of `perSecond` lines a second.
    init(perSecond: Int) { self.perSecond = perSecond }

    /// Whether a line may be written at loop time `now` (ns), and how many were held back before it.
    mutating func admit(now: UInt64) -> (allowed: Bool, heldBack: Int) {
        if now - windowStart >= 1_000_000_000 {
            windowStart = now
            inWindow = 0
        }
        guard inWindow < perSecond else {
            held += 1
            return (false, 0)
        }
        inWindow += 1
        defer { held = 0 }
        return (true, held)
    }
}
