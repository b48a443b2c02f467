// Plain blocking file operations for the state directory. Called at start-up (before the loop runs) or
// from pool jobs, never from the loop thread while it serves.
import HarmonyCore
import HarmonySystem
#if canImport(Glibc)
import Glibc
#endif

/// Whole-file reads, atomic replacement and directory syncs of the state directory, with `ServerError`s.
enum StateFiles {
    /// The bytes of `path` exactly as stored (no decompression).
    static func read(_ path: String) throws -> [UInt8] {
        do {
            return try SystemCall.readFile(path)
        } catch {
            throw ServerError.io("cannot read \(path): \(error)")
        }
    }

    /// Replaces `path` with `bytes` atomically (mode 0600; see `AtomicFileGroup`: temporary file, fsync, rename,
    /// fsync of the directory).
    static func writeAtomically(_ bytes: [UInt8], to path: String) throws {
        do {
            try AtomicFileGroup.write(bytes, to: path, mode: 0o600)
        } catch let error as HarmonyError {
            throw ServerError.io(error.description)
        }
    }

    /// Creates `path` as a directory (mode 0700) unless it exists; true when it was created.
    @discardableResult
    static func ensureDirectory(_ path: String) throws -> Bool {
        var info = stat()
        if stat(path, &info) == 0 {
            guard (info.st_mode & S_IFMT) == S_IFDIR else { throw ServerError.configuration("\(path) is not a directory") }
            return false
        }
        guard mkdir(path, 0o700) == 0 else {
            let parentMissing = errno == ENOENT
            throw parentMissing ? ServerError.configuration("cannot create the state directory \(path): its parent "
                                                            + "directory does not exist")
                : ServerError.io("cannot create \(path): \(errnoText())")
        }
        return true
    }

    /// Throws a clear configuration error when the directory that is to hold the socket `path` does not exist
    /// or is not a directory (bind(2) would report a less helpful errno).
    static func checkSocketDirectory(of path: String) throws {
        let directory = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
        var info = stat()
        guard stat(directory.isEmpty ? "/" : directory, &info) == 0 else {
            throw ServerError.configuration("the socket directory \(directory) does not exist (create it, or choose "
                                            + "another --socket path)")
        }
        guard (info.st_mode & S_IFMT) == S_IFDIR else {
            throw ServerError.configuration("\(directory), which is to hold the socket, is not a directory")
        }
    }

    /// Whether a file exists at `path`.
    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }
}

/// Files and a directory created by a start that may still fail; `remove()` undoes them.
final class CreatedFiles {
    /// Files created, in creation order.
    var files: [String] = []
    /// The state directory, when the start created it.
    var directory: String?

    /// Unlinks the files (newest first), then removes the directory if it was created and is empty now.
    func remove() {
        for path in files.reversed() { unlink(path) }
        if let directory { rmdir(directory) }
        files = []
        directory = nil
    }
}
