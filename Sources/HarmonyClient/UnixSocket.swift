#if canImport(Glibc)
import Glibc
#endif

// A blocking connected Unix stream socket. Every syscall retries EINTR; writes loop over partial writes and use
// MSG_NOSIGNAL so that a server that went away yields EPIPE (an error) instead of killing us with SIGPIPE.

/// A connected, blocking Unix-domain stream socket.
final class UnixSocket {
    private var fd: Int32

    /// Connects to the socket file at `path`; `timeoutSeconds` > 0 bounds every read and write.
    init(path: String, timeoutSeconds: Double) throws {
        let pathBytes = Array(path.utf8)
        var addr = sockaddr_un()
        let capacity = MemoryLayout.size(ofValue: addr.sun_path)
        guard !pathBytes.isEmpty, pathBytes.count < capacity else {
            throw ClientError.connect(path: path, reason: "a socket path must have 1 to \(capacity - 1) bytes")
        }
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ClientError.connect(path: path, reason: UnixSocket.errnoText("socket")) }
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            raw.copyBytes(from: pathBytes)
            raw[pathBytes.count] = 0
        }
        if timeoutSeconds > 0 {
            var tv = timeval(tv_sec: Int(timeoutSeconds),
                             tv_usec: Int((timeoutSeconds - timeoutSeconds.rounded(.down)) * 1e6))
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        }
        let rc = withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                UnixSocket.retryingEINTR { connect(fd, sa, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
        }
        guard rc == 0 else {
            let reason = UnixSocket.errnoText("connect")
            Glibc.close(fd)
            fd = -1
            throw ClientError.connect(path: path, reason: reason)
        }
    }

    deinit { close() }

    /// Writes every byte, looping over partial writes.
    func writeAll(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { raw in
            var sent = 0
            while sent < raw.count {
                let n = UnixSocket.retryingEINTR {
                    send(fd, raw.baseAddress! + sent, raw.count - sent, Int32(MSG_NOSIGNAL))
                }
                if n < 0 { throw UnixSocket.failure("write") }
                sent += n
            }
        }
    }

    /// Reads up to `buffer.count` bytes; returns 0 at end of stream.
    func readSome(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = UnixSocket.retryingEINTR { recv(fd, buffer.baseAddress, buffer.count, 0) }
        if n < 0 { throw UnixSocket.failure("read") }
        return n
    }

    /// Closes the socket (idempotent).
    func close() {
        if fd >= 0 {
            Glibc.close(fd)
            fd = -1
        }
    }

    private static func retryingEINTR<T: BinaryInteger>(_ call: () -> T) -> T {
        while true {
            let rc = call()
            if rc >= 0 || errno != EINTR { return rc }
        }
    }

    private static func failure(_ op: String) -> ClientError {
        if errno == EAGAIN || errno == EWOULDBLOCK {
            return .timeout("no progress on the harmonyd connection (\(op) timed out)")
        }
        return .io(errnoText(op))
    }

    private static func errnoText(_ op: String) -> String {
        "\(op) failed: \(String(cString: strerror(errno)))"
    }
}
