import HarmonySystem
#if canImport(Glibc)
import Glibc
#endif

// A blocking connected Unix stream socket. Every syscall retries EINTR (`SystemCall`); writes loop over partial
// writes and use MSG_NOSIGNAL so that a server that went away yields EPIPE (an error) instead of killing us with
// SIGPIPE.

/// A connected, blocking Unix-domain stream socket.
final class UnixSocket {
    private var fd: Int32

    /// Connects to the socket file at `path`; `timeoutSeconds` > 0 bounds every read and write.
    init(path: String, timeoutSeconds: Double) throws {
        let length = path.utf8.count
        guard length > 0, length <= UnixSocketAddress.maxPathBytes else {
            throw ClientError.connect(path: path,
                                      reason: "a socket path must have 1 to \(UnixSocketAddress.maxPathBytes) bytes")
        }
        do {
            fd = try UnixSocketAddress.connect(path) { fd in
                guard timeoutSeconds > 0 else { return }
                var tv = timeval(tv_sec: Int(timeoutSeconds),
                                 tv_usec: Int((timeoutSeconds - timeoutSeconds.rounded(.down)) * 1e6))
                setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
                setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            }
        } catch {
            throw ClientError.connect(path: path, reason: "\(error)")
        }
    }

    deinit { close() }

    /// Writes every byte, looping over partial writes.
    func writeAll(_ bytes: [UInt8]) throws {
        let fd = self.fd
        do {
            try bytes.withUnsafeBytes { raw in
                try SystemCall.writeAll(raw, call: "write") { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            }
        } catch let error as SystemCallError {
            throw UnixSocket.failure(error)
        }
    }

    /// Reads up to `buffer.count` bytes; returns 0 at end of stream.
    func readSome(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        do {
            return try SystemCall.retrying("read") { recv(fd, buffer.baseAddress, buffer.count, 0) }
        } catch let error as SystemCallError {
            throw UnixSocket.failure(error)
        }
    }

    /// Closes the socket (idempotent).
    func close() {
        if fd >= 0 {
            Glibc.close(fd)
            fd = -1
        }
    }

    private static func failure(_ error: SystemCallError) -> ClientError {
        if error.code == EAGAIN || error.code == EWOULDBLOCK {
            return .timeout("no progress on the harmonyd connection (\(error.call) timed out)")
        }
        return .io(error.description)
    }
}
