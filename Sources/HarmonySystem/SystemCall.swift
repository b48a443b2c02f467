#if canImport(Glibc)
import Glibc
#endif

// The one place that talks to the kernel's file and socket calls by hand. A call interrupted by a signal
// (EINTR) is simply made again; any other failure becomes a `SystemCallError` that carries the errno of the
// failing call itself, captured before anything else (a `close` on the way out, a log line) can overwrite it.

/// A system call that failed: which one, and its errno.
public struct SystemCallError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The call's name, e.g. `pwrite`.
    public let call: String
    /// The errno it failed with.
    public let code: Int32

    /// The error for `call` with `code` (by default the current errno).
    public init(_ call: String, code: Int32 = errno) {
        self.call = call
        self.code = code
    }

    /// The system's text for the errno, e.g. "No space left on device".
    public var reason: String { String(cString: strerror(code)) }

    /// "pwrite failed: No space left on device".
    public var description: String { "\(call) failed: \(reason)" }
}

/// Blocking system calls that retry EINTR and throw `SystemCallError`.
public enum SystemCall {
    /// The result of `body`, made again while it fails with EINTR; any other negative result throws.
    @inline(__always)
    public static func retrying<T: FixedWidthInteger & SignedInteger>(_ call: String, _ body: () -> T) throws -> T {
        while true {
            let rc = body()
            if rc >= 0 { return rc }
            let code = errno
            if code != EINTR { throw SystemCallError(call, code: code) }
        }
    }

    /// Writes all of `bytes` to `fd` through `write` (which returns what write(2) returns), looping over short
    /// writes. A call that writes nothing without an error is reported as EIO (no progress is possible).
    public static func writeAll(_ bytes: UnsafeRawBufferPointer, call: String = "write",
                                _ write: (UnsafeRawBufferPointer) -> Int) throws {
        var done = 0
        while done < bytes.count {
            let n = try retrying(call) { write(UnsafeRawBufferPointer(rebasing: bytes[done...])) }
            if n == 0 { throw SystemCallError(call, code: EIO) }
            done += n
        }
    }

    /// Writes all of `bytes` to the file or socket `fd`.
    public static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) throws {
        try writeAll(bytes) { Glibc.write(fd, $0.baseAddress, $0.count) }
    }

    /// Reads from `fd` until `buffer` is full or the file ends; the number of bytes read.
    public static func readFully(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        var done = 0
        while done < buffer.count {
            let n = try retrying("read") { Glibc.read(fd, buffer.baseAddress! + done, buffer.count - done) }
            if n == 0 { break }
            done += n
        }
        return done
    }

    /// The whole content of the file at `path`, as stored.
    public static func readFile(_ path: String) throws -> [UInt8] {
        let fd = try retrying("open") { open(path, O_RDONLY | O_CLOEXEC) }
        defer { close(fd) }
        var info = stat()
        _ = try retrying("fstat") { fstat(fd, &info) }
        let size = Int(info.st_size)
        var failure: Error?
        let bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
            do {
                initialized = try readFully(fd, into: UnsafeMutableRawBufferPointer(buffer))
            } catch {
                failure = error
                initialized = 0
            }
        }
        if let failure { throw failure }
        return bytes
    }

    /// fsyncs the directory holding `path`, so that a file created or renamed in it survives a crash.
    public static func syncDirectory(of path: String) throws {
        let directory = directoryName(of: path)
        let fd = try retrying("open \(directory)") { open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        defer { close(fd) }
        _ = try retrying("fsync \(directory)") { fsync(fd) }
    }

    /// The directory part of `path`: "." for a bare name, "/" for a file in the root.
    public static func directoryName(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}
