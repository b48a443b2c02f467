#if canImport(Glibc)
import Glibc
#endif

/// Blocking connects to a Unix-domain stream socket, for the client and the daemon's stale-socket check.
public enum UnixSocketAddress {
    /// The most bytes a socket path may have (sun_path holds them and a terminating NUL).
    public static let maxPathBytes = MemoryLayout.size(ofValue: sockaddr_un().sun_path) - 1

    /// A connected blocking stream socket to `path` (close-on-exec); the caller closes it. `prepare` sees the
    /// socket before the connect (to set timeouts, which then bound the connect too). A path that is empty or
    /// longer than `maxPathBytes` fails as connect with ENOENT or ENAMETOOLONG.
    public static func connect(_ path: String, prepare: (Int32) -> Void = { _ in }) throws -> Int32 {
        let bytes = Array(path.utf8)
        guard !bytes.isEmpty else { throw SystemCallError("connect", code: ENOENT) }
        guard bytes.count <= maxPathBytes else { throw SystemCallError("connect", code: ENAMETOOLONG) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let fd = try SystemCall.retrying("socket") {
            socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        }
        prepare(fd)
        do {
            _ = try SystemCall.retrying("connect") {
                withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                    }
                }
            }
        } catch {
            close(fd)
            throw error
        }
        return fd
    }
}
