// Readiness for systemd (`Type=notify`): when $NOTIFY_SOCKET names a socket, one datagram `READY=1` is sent there
// once harmonyd listens, so that units ordered after it (and clients) need not poll for the socket file.
// `@name` is Linux's abstract namespace. Without $NOTIFY_SOCKET nothing happens.
#if canImport(Glibc)
import Glibc
#endif

/// The sd_notify protocol, enough of it for readiness and shutdown.
enum SystemdNotify {
    /// Sends `state` (e.g. `READY=1`) to $NOTIFY_SOCKET; returns false when it is unset or the send failed.
    @discardableResult
    static func send(_ state: String) -> Bool {
        guard let raw = getenv("NOTIFY_SOCKET") else { return false }
        let target = String(cString: raw)
        var path = Array(target.utf8)
        guard !path.isEmpty, path.count < MemoryLayout.size(ofValue: sockaddr_un().sun_path) else { return false }
        if path[0] == UInt8(ascii: "@") { path[0] = 0 }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, byte) in path.enumerated() { raw[i] = byte }
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + path.count)
        let message = Array(state.utf8)
        let sent = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                message.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL), address, length) }
            }
        }
        return sent == message.count
    }
}
