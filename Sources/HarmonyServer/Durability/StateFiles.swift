// Plain blocking file operations for the state directory. Called at start-up (before the loop runs) or
// from pool jobs, never from the loop thread while it serves.
#if canImport(Glibc)
import Glibc
#endif

/// Whole-file reads, atomic replacement and directory syncs.
enum StateFiles {
    /// The bytes of `path` exactly as stored (no decompression).
    static func read(_ path: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ServerError.io("cannot open \(path): \(errnoText())") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw ServerError.io("cannot stat \(path): \(errnoText())") }
        var bytes = [UInt8](repeating: 0, count: Int(info.st_size))
        var done = 0
        try bytes.withUnsafeMutableBytes { buffer in
            while done < buffer.count {
                let n = Glibc.read(fd, buffer.baseAddress! + done, buffer.count - done)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { throw ServerError.io("cannot read \(path): \(errnoText())") }
                done += n
            }
        }
        return bytes
    }

    /// Replaces `path` with `bytes` atomically: temporary file, fsync, rename, fsync of the directory.
    static func writeAtomically(_ bytes: [UInt8], to path: String) throws {
        let temporary = path + ".tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw ServerError.io("cannot create \(temporary): \(errnoText())") }
        var ok = bytes.withUnsafeBytes { buffer -> Bool in
            var done = 0
            while done < buffer.count {
                let n = write(fd, buffer.baseAddress! + done, buffer.count - done)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return false }
                done += n
            }
            return true
        }
        ok = ok && fsync(fd) == 0
        close(fd)
        guard ok, rename(temporary, path) == 0 else {
            let reason = errnoText()
            unlink(temporary)
            throw ServerError.io("cannot write \(path): \(reason)")
        }
        try syncDirectory(of: path)
    }

    /// fsyncs the directory holding `path`, so a rename or creation in it is durable.
    static func syncDirectory(of path: String) throws {
        let directory = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
        let fd = open(directory.isEmpty ? "/" : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw ServerError.io("cannot open directory \(directory): \(errnoText())") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw ServerError.io("cannot sync directory \(directory): \(errnoText())") }
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
