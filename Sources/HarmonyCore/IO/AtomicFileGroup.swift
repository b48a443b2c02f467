import HarmonySystem
#if canImport(Glibc)
import Glibc
#endif

// The project's one way to replace files atomically (the model file format's promise, and every output of the
// commands): each file is written in full to `PATH.tmp-XXXXXX` (mkstemp, in the destination's directory, so that
// rename(2) is atomic; then given its mode) and fsynced; only when all of a group are written are they renamed
// into place, and then each directory that received one is fsynced, so the new names survive a crash. On any
// failure the temporaries are removed; a failure before the renames leaves every destination as it was.

/// A set of output files committed together (temporary file + fsync + rename + directory fsync).
public struct AtomicFileGroup {
    private var pending: [(path: String, bytes: [UInt8])] = []
    private let mode: mode_t

    /// An empty group whose files get `mode` (0644 unless told otherwise).
    public init(mode: mode_t = 0o644) { self.mode = mode }

    /// Queues `bytes` to be written to `path` by `commit()`.
    public mutating func add(_ bytes: [UInt8], to path: String) {
        pending.append((path, bytes))
    }

    /// Writes every queued file to a temporary name, then renames them all into place.
    /// - Throws: `HarmonyError.io` naming the file and the system's reason; no temporary file is left behind.
    public func commit() throws {
        var written: [(temp: String, path: String)] = []
        do {
            for (path, bytes) in pending {
                let (fd, temp) = try Self.createTemporary(for: path, mode: mode)
                written.append((temp, path))
                defer { close(fd) }
                try Self.attempt(path, "cannot write") {
                    try bytes.withUnsafeBytes { try SystemCall.writeAll(fd, $0) }
                    _ = try SystemCall.retrying("fsync") { fsync(fd) }
                }
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
        var synced: Set<String> = []
        for w in written where synced.insert(SystemCall.directoryName(of: w.path)).inserted {
            try Self.attempt(w.path, "cannot make its new name durable") { try SystemCall.syncDirectory(of: w.path) }
        }
    }

    /// Writes one file atomically (a group of one).
    public static func write(_ bytes: [UInt8], to path: String, mode: mode_t = 0o644) throws {
        var group = AtomicFileGroup(mode: mode)
        group.add(bytes, to: path)
        try group.commit()
    }

    /// A new empty temporary file for `path` (see the top of this file): its open descriptor and its name. For
    /// outputs streamed by other writers, which then call `publish`.
    static func createTemporary(for path: String, mode: mode_t = 0o644) throws -> (fd: Int32, path: String) {
        var template = Array("\(path).tmp-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else {
            throw HarmonyError.io("\(path): cannot create a temporary file beside it: \(String(cString: strerror(errno)))")
        }
        let temp = String(cString: template.map { UInt8(bitPattern: $0) })
        // Glibc's module does not export mkostemp (a _GNU_SOURCE name): close-on-exec is set right after.
        guard fcntl(fd, F_SETFD, FD_CLOEXEC) == 0, fchmod(fd, mode) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            unlink(temp)
            throw HarmonyError.io("\(path): cannot set the output file's mode: \(reason)")
        }
        return (fd, temp)
    }

    /// Publishes a file written in full at `temp` (from `createTemporary`), whose descriptor `fd` this closes:
    /// fsync, rename to `path`, fsync of the directory. On failure the temporary file is removed.
    static func publish(_ fd: Int32, temporary temp: String, as path: String) throws {
        let synced = Result { try SystemCall.retrying("fsync") { fsync(fd) } }
        close(fd)
        do {
            try attempt(path, "cannot flush to disk") { _ = try synced.get() }
        } catch {
            unlink(temp)
            throw error
        }
        guard rename(temp, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temp)
            throw HarmonyError.io("\(path): cannot move the finished file into place: \(reason)")
        }
        try attempt(path, "cannot make its new name durable") { try SystemCall.syncDirectory(of: path) }
    }

    /// Writes all of `bytes` to the open file `fd`; errors name `path`.
    static func writeAll(_ bytes: [UInt8], to fd: Int32, reportedAs path: String) throws {
        try attempt(path, "cannot write") { try bytes.withUnsafeBytes { try SystemCall.writeAll(fd, $0) } }
    }

    // Runs `body`, reporting a failed system call as `HarmonyError.io` about `path`.
    private static func attempt(_ path: String, _ what: String, _ body: () throws -> Void) throws {
        do {
            try body()
        } catch let error as SystemCallError {
            throw HarmonyError.io("\(path): \(what): \(error.reason)")
        }
    }
}
