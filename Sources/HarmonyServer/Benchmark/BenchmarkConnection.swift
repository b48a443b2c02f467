// A blocking client connection for the benchmark: writes request frames, reads reply frames.
// Used by one benchmark thread at a time; never by the server's loop.
import HarmonyProtocol
#if canImport(Glibc)
import Glibc
#endif

/// One blocking connection to harmonyd speaking raw frames.
final class BenchmarkConnection {
    private let fd: Int32
    private var decoder = FrameDecoder()
    private var buffer = [UInt8](repeating: 0, count: 1 << 20)
    private var nextID: UInt32 = 1

    /// Connects to the daemon at `path`.
    init(path: String) throws {
        guard let fd = UnixAddress.connect(path) else {
            throw ServerError.configuration("cannot connect to \(path): \(errnoText())")
        }
        self.fd = fd
    }

    deinit { close(fd) }

    /// Sends one request and returns the request id used.
    @discardableResult
    func send<M: WireMessage>(_ message: M) throws -> UInt32 {
        let id = nextID
        nextID &+= 1
        let bytes = message.encodedFrame(requestID: id)
        try bytes.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let n = Glibc.send(fd, raw.baseAddress! + done, raw.count - done, Int32(MSG_NOSIGNAL))
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { throw ServerError.io("benchmark send failed: \(errnoText())") }
                done += n
            }
        }
        return id
    }

    /// The next reply frame; an ERROR reply is thrown.
    func receive() throws -> Frame {
        while true {
            if let frame = try decoder.nextFrame() {
                if frame.header.typeByte == MessageType.error.rawValue {
                    let error = try ErrorReply(frame: frame)
                    throw ServerError.state("server error \(error.name): \(error.message)")
                }
                return frame
            }
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw ServerError.io("the server closed the benchmark connection") }
            buffer.withUnsafeBytes { decoder.append(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        }
    }

    /// Sends `message` and waits for its reply.
    func roundTrip<M: WireMessage, R: WireMessage>(_ message: M, as type: R.Type) throws -> R {
        try send(message)
        return try R(frame: try receive())
    }
}
