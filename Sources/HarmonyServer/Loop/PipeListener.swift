// The listening Unix-domain socket.
//
// Thread contract: loop thread only. Binding happens before the loop runs: a socket file left by a dead
// daemon is replaced, a live daemon's socket is never stolen (we try to connect to it first), and the socket
// is created with the requested mode under a restrictive umask so it is never briefly world-accessible.
import CLibUV
import HarmonySystem
#if canImport(Glibc)
import Glibc
#endif

/// A listening `uv_pipe_t` that hands each accepted client to `onAccept`.
final class PipeListener: UVHandle<uv_pipe_t> {
    /// The socket path.
    let path: String
    private let loop: EventLoop
    private let onAccept: (PipeListener) -> Void
    // Set once `uv_pipe_bind` created the socket file, which is then ours to remove.
    private var bound = false

    /// Binds `path` with permission bits `mode` and starts listening.
    init(loop: EventLoop, path: String, mode: mode_t, backlog: Int32 = 511,
         onAccept: @escaping (PipeListener) -> Void) throws {
        self.path = path
        self.loop = loop
        self.onAccept = onAccept
        super.init()
        try PipeListener.removeStaleSocket(at: path)
        try uvCheck(uv_pipe_init(loop.raw, handle, 0), "uv_pipe_init")
        attach()
        do {
            // Bits outside `mode` are masked at creation, so no other user can connect before chmod.
            let previous = umask(~mode & 0o777)
            let rc = uv_pipe_bind(handle, path)
            umask(previous)
            try uvCheck(rc, "uv_pipe_bind \(path)")
            bound = true
            guard chmod(path, mode) == 0 else {
                throw ServerError.configuration("cannot set mode \(String(mode, radix: 8)) on \(path): \(errnoText())")
            }
            try uvCheck(uv_listen(stream, backlog, { server, status in
                let listener = UVHandle<uv_pipe_t>.owner(of: server.map(UnsafeMutableRawPointer.init),
                                                         as: PipeListener.self)
                if status >= 0 { listener.onAccept(listener) }
            }), "uv_listen \(path)")
        } catch {
            close()
            throw error
        }
    }

    /// Accepts one pending client into `client`'s (initialised) pipe handle.
    func accept(into client: UnsafeMutablePointer<uv_stream_t>) throws {
        try uvCheck(uv_accept(stream, client), "uv_accept")
    }

    /// Stops listening and removes the socket file.
    override func willClose() {
        if bound { unlink(path) }
    }

    // MARK: - Stale sockets

    /// Removes a socket file nobody answers on; refuses a live socket or a non-socket file.
    static func removeStaleSocket(at path: String) throws {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        guard (info.st_mode & S_IFMT) == S_IFSOCK else {
            throw ServerError.configuration("\(path) exists and is not a socket; refusing to replace it")
        }
        if isLive(path) {
            throw ServerError.configuration("another harmonyd is serving \(path); refusing to steal its socket")
        }
        guard unlink(path) == 0 else {
            throw ServerError.configuration("cannot remove the stale socket \(path): \(errnoText())")
        }
    }

    /// Whether a process accepts connections on the socket at `path` (a blocking connect, at start-up only).
    static func isLive(_ path: String) -> Bool {
        guard let fd = try? UnixSocketAddress.connect(path) else { return false }
        Glibc.close(fd)
        return true
    }
}
