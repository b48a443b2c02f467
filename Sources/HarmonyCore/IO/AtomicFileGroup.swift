#if canImport(Glibc)
import Glibc
#endif

// Outputs are written all-or-nothing: every file of a command is first written in full to a temporary file
// next to its destination (same directory, so rename(2) is atomic) and fsynced; only when all of them are
// written are they renamed into place. On any failure the temporaries are removed and no destination changes.

/// A set of output files committed together (temp file + fsync + rename).
public struct AtomicFileGroup {
    private var pending: [(path: String, bytes: [UInt8])] = []

    /// An empty group.
    public init() {}

    /// Queues `bytes` to be written to `path` by `commit()`.
    public mutating func add(_ bytes: [UInt8], to path: String) {
        pending.append((path, bytes))
    }

    /// Writes every queued file to a temporary name, then renames them all into place.
    /// - Throws: `HarmonyError.io` naming the file and the system's reason; nothing is left behind.
    public func commit() throws {
        var written: [(temp: String, path: String)] = []
        do {
            for (path, bytes) in pending {
                let temp = Self.temporaryPath(for: path)
                written.append((temp, path))
                try Self.writeSynced(bytes, to: temp, reportedAs: path)
            }
        } catch {
            for w in written { unlink(w.temp) }
            throw error
        }
        for (i, w) in written.enumerated() where rename(w.temp, w.path) != 0 {
            let reason = String(cString: strerror(errno))
            for rest in written[i...] { unlink(rest.temp) }
            throw HarmonyError.io("\(w.path): cannot move the finished file into place: \(reason)")
        }
    }

    /// Writes one file atomically (a group of one).
    public static func write(_ bytes: [UInt8], to path: String) throws {
        var group = AtomicFileGroup()
        group.add(bytes, to: path)
        try group.commit()
    }

    /// A hidden temporary name in the destination's directory, unique to this process.
    static func temporaryPath(for path: String) -> String {
        let slash = path.lastIndex(of: "/")
        let dir = slash.map { String(path[...$0]) } ?? ""
        let base = slash.map { String(path[path.index(after: $0)...]) } ?? path
        return "\(dir).\(base).tmp-\(getpid())"
    }

    /// Publishes a file written in full at `temp` (see `temporaryPath(for:)`), whose descriptor `fd` this closes:
    /// fsync, then rename to `path`. On failure the temporary file is removed.
    static func publish(_ fd: Int32, temporary temp: String, as path: String) throws {
        guard fsync(fd) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            unlink(temp)
            throw HarmonyError.io("\(path): cannot flush to disk: \(reason)")
        }
        close(fd)
        guard rename(temp, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temp)
            throw HarmonyError.io("\(path): cannot move the finished file into place: \(reason)")
        }
    }

    private static func writeSynced(_ bytes: [UInt8], to temp: String, reportedAs path: String) throws {
        let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw HarmonyError.io("\(path): cannot create the output file: \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        try writeAll(bytes, to: fd, reportedAs: path)
        guard fsync(fd) == 0 else {
            throw HarmonyError.io("\(path): cannot flush to disk: \(String(cString: strerror(errno)))")
        }
    }
}

/// Writes all of `bytes` to `fd`, retrying short writes and EINTR; errors name `path`.
func writeAll(_ bytes: [UInt8], to fd: Int32, reportedAs path: String) throws {
    var offset = 0
    while offset < bytes.count {
        let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
        if n < 0 {
            if errno == EINTR { continue }
            throw HarmonyError.io("\(path): cannot write: \(String(cString: strerror(errno)))")
        }
        offset += n
    }
}
