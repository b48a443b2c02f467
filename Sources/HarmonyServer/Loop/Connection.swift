// One client connection: reads frames, keeps replies in request order, writes them gathered.
//
// Thread contract: loop thread only. Every request reserves a reply slot when its frame is read; slots are
// filled in any order (inline, after the write-ahead log syncs, after a pool job) and written strictly in
// slot order, several per `uv_write`. After a framing error the connection stops reading, writes the ERROR
// behind the replies still owed, and closes. Reading pauses while too many replies are owed (backpressure).
import CLibUV
import HarmonyProtocol
#if canImport(Glibc)
import Glibc
#endif

/// What the server does with a connection's frames and with its end.
protocol ConnectionHandler: AnyObject {
    /// A complete frame arrived; the reply goes into `slot` through `Connection.complete`.
    func connection(_ connection: Connection, received frame: Frame, slot: UInt64)
    /// The byte stream is out of sync; the returned ERROR frame is the connection's last reply.
    func connection(_ connection: Connection, lostFraming error: ProtocolError) -> [UInt8]
    /// The handle closed; the connection will not call the handler again.
    func connectionClosed(_ connection: Connection)
}

/// A client connection on a `uv_pipe_t`.
final class Connection: UVHandle<uv_pipe_t> {
    /// Replies owed before reading pauses.
    static let maxOwedReplies = 1024
    /// Reply bytes queued in libuv (written by us, not yet taken by the peer) before reading pauses.
    static let maxQueuedReplyBytes = 32 << 20
    /// Size of the reused read buffer.
    static let readBufferBytes = 256 * 1024

    /// A number unique within the server, for logs.
    let id: UInt64
    /// The peer's uid from SO_PEERCRED, when known.
    private(set) var peerUID: uid_t?
    /// Requests read after a MAP_EXPRESSION still being projected wait here (see `AdmissionQueue`).
    let admissions = AdmissionQueue()
    /// Loop time (ns) of the last byte read or written.
    private(set) var lastActivity = EventLoop.now()
    /// Loop time (ns) when the first byte of a frame still incomplete arrived; nil when no frame is partial.
    private(set) var partialFrameSince: UInt64?
    private weak var handler: ConnectionHandler?
    private var decoder: FrameDecoder
    private let readBuffer = UnsafeMutableRawPointer.allocate(byteCount: Connection.readBufferBytes, alignment: 16)
    // Replies by slot, starting at slot `firstOwed`; nil means not ready yet.
    private var owed: [[UInt8]?] = []
    private var firstOwed: UInt64 = 0
    private var writesInFlight = 0
    private var readingPaused = false
    private var closeWhenFlushed = false

    /// A connection handle on `loop`, not yet accepted.
    init(loop: EventLoop, id: UInt64, maxPayloadBytes: Int, handler: ConnectionHandler) throws {
        self.id = id
        self.handler = handler
        self.decoder = FrameDecoder(maxPayloadBytes: maxPayloadBytes)
        super.init()
        try uvCheck(uv_pipe_init(loop.raw, handle, 0), "uv_pipe_init")
        attach()
    }

    deinit { readBuffer.deallocate() }

    /// Replies reserved but not yet written.
    var owedReplies: Int { owed.count }

    /// Whether the connection has nothing in flight (no reply owed, no write pending).
    var isIdle: Bool { owed.isEmpty && writesInFlight == 0 }

    // A peer that pipelines faster than it is answered, or does not read its replies, stops being read.
    private var isBackedUp: Bool {
        owed.count >= Connection.maxOwedReplies
            || uv_stream_get_write_queue_size(stream) > Connection.maxQueuedReplyBytes
    }

    /// Reads the peer's credentials (after accept).
    func readPeerCredentials() {
        var fd: uv_os_fd_t = -1
        guard uv_fileno(rawHandle, &fd) == 0 else { return }
        // `struct ucred` (pid, uid, gid) needs _GNU_SOURCE, which the Glibc module does not define.
        var credentials = (pid: Int32(0), uid: uid_t(0), gid: gid_t(0))
        var length = socklen_t(MemoryLayout.size(ofValue: credentials))
        if getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) == 0 { peerUID = credentials.uid }
    }

    /// Starts reading frames.
    func startReading() {
        guard isOpen else { return }
        let rc = uv_read_start(stream, { handle, _, buffer in
            let connection = UVHandle<uv_pipe_t>.owner(of: handle.map(UnsafeMutableRawPointer.init), as: Connection.self)
            buffer!.pointee = uv_buf_init(connection.readBuffer.assumingMemoryBound(to: CChar.self),
                                          UInt32(Connection.readBufferBytes))
        }, { stream, count, _ in
            let connection = UVHandle<uv_pipe_t>.owner(of: stream.map(UnsafeMutableRawPointer.init), as: Connection.self)
            connection.didRead(count)
        })
        if rc < 0 { close() }
        readingPaused = rc < 0
    }

    // MARK: - Reading

    private func didRead(_ count: Int) {
        if count == Int(UV_EOF.rawValue) {
            // The peer finished sending (it may have half-closed and still wait for its replies).
            return drain()
        }
        if count < 0 { return close() }
        guard count > 0, !closeWhenFlushed else { return }
        lastActivity = EventLoop.now()
        decoder.append(UnsafeRawBufferPointer(start: readBuffer, count: count))
        do {
            while isOpen, !closeWhenFlushed, let frame = try decoder.nextFrame() {
                let slot = firstOwed + UInt64(owed.count)
                owed.append(nil)
                // The bytes left over (if any) start a new frame now.
                partialFrameSince = nil
                handler?.connection(self, received: frame, slot: slot)
            }
            // The frame timeout counts from the first byte of a frame, however slowly the rest trickles in.
            if decoder.bufferedByteCount == 0 {
                partialFrameSince = nil
            } else if partialFrameSince == nil {
                partialFrameSince = lastActivity
            }
        } catch let error as ProtocolError {
            loseFraming(error)
        } catch {
            loseFraming(ProtocolError(.internal, "\(error)"))
        }
        if isOpen, !readingPaused, isBackedUp {
            uv_read_stop(stream)
            readingPaused = true
        }
    }

    private func loseFraming(_ error: ProtocolError) {
        guard let handler else { return close() }
        refuse(with: handler.connection(self, lostFraming: error))
    }

    /// Sends `frame` as the last reply (after those still owed) and closes; reads nothing more.
    func refuse(with frame: [UInt8]) {
        guard isOpen, !closeWhenFlushed else { return }
        let slot = firstOwed + UInt64(owed.count)
        owed.append(nil)
        closeWhenFlushed = true
        uv_read_stop(stream)
        complete(slot, with: frame)
    }

    /// Reads nothing more, delivers the replies still owed, then closes (clean shutdown).
    func drain() {
        guard isOpen else { return }
        closeWhenFlushed = true
        uv_read_stop(stream)
        if isIdle { close() }
    }

    // MARK: - Replies

    /// Fills reply `slot` with a complete frame; replies go out in slot order. Ignored once closed.
    func complete(_ slot: UInt64, with frame: [UInt8]) {
        guard isOpen, slot >= firstOwed, slot < firstOwed + UInt64(owed.count) else { return }
        owed[Int(slot - firstOwed)] = frame
        guard slot == firstOwed else { return }
        var ready: [[UInt8]] = []
        while ready.count < owed.count, let frame = owed[ready.count] { ready.append(frame) }
        owed.removeFirst(ready.count)
        firstOwed += UInt64(ready.count)
        write(ready)
    }

    private func write(_ frames: [[UInt8]]) {
        writesInFlight += 1
        let started = WriteRequest.write(frames, to: stream) { [self] status in
            writesInFlight -= 1
            lastActivity = EventLoop.now()
            if status < 0 { return close() }
            afterWrite()
        }
        if !started {
            writesInFlight -= 1
            close()
        }
    }

    private func afterWrite() {
        guard isOpen else { return }
        if closeWhenFlushed && isIdle { return close() }
        if readingPaused && !closeWhenFlushed && !isBackedUp {
            startReading()
        }
    }

    override func willClose() {
        uv_read_stop(stream)
        owed = []
    }

    override func didClose() { handler?.connectionClosed(self) }
}
