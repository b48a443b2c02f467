// Incremental frame splitter. Bytes may arrive in any split (one at a time or many frames at once); `nextFrame()`
// returns each complete frame in order, or nil for "need more bytes". The magic is checked as soon as its bytes
// arrive, and the payload length is checked against the limit from the header alone, BEFORE any payload byte is
// buffered. After a framing error the stream is out of sync: the decoder keeps throwing that error, and the owner
// answers with an ERROR frame (when it can) and closes the connection.

/// Splits an incoming byte stream into frames.
public struct FrameDecoder {
    /// Largest payload accepted, in bytes; a longer header length throws FRAME_TOO_LARGE.
    public let maxPayloadBytes: Int
    private var buffer: [UInt8] = []
    // Bytes before `start` are consumed; they are dropped lazily to keep appends amortised O(1).
    private var start = 0
    private var failure: ProtocolError?

    /// A decoder that rejects payloads longer than `maxPayloadBytes`.
    public init(maxPayloadBytes: Int = ProtocolLimits.defaultMaxPayloadBytes) {
        self.maxPayloadBytes = maxPayloadBytes
    }

    /// Bytes received but not yet returned as part of a frame.
    public var bufferedByteCount: Int { buffer.count - start }

    /// The framing error that stopped this decoder, if any.
    public var error: ProtocolError? { failure }

    /// Appends received bytes (ignored once the decoder has failed).
    public mutating func append<C: Collection>(contentsOf bytes: C) where C.Element == UInt8 {
        guard failure == nil else { return }
        compactIfWorthwhile()
        buffer.append(contentsOf: bytes)
    }

    /// Appends received bytes from raw memory (e.g. a libuv read buffer).
    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard failure == nil else { return }
        compactIfWorthwhile()
        // A typed view makes the append one memcpy; a raw buffer would be appended byte by byte.
        buffer.append(contentsOf: bytes.bindMemory(to: UInt8.self))
    }

    /// The next complete frame, or nil when more bytes are needed.
    /// Throws BAD_MAGIC, UNSUPPORTED_VERSION or FRAME_TOO_LARGE; once thrown, every later call throws it again.
    public mutating func nextFrame() throws -> Frame? {
        if let failure { throw failure }
        let available = buffer.count - start
        // Reject a wrong magic from its first wrong byte rather than waiting for a whole header.
        for i in 0..<min(available, FrameHeader.magic.count) where buffer[start + i] != FrameHeader.magic[i] {
            return try fail(ProtocolError(.badMagic, "the frame does not start with HMNY (byte \(i) is "
                                          + "\(FrameHeader.hex([buffer[start + i]])))"))
        }
        guard available >= FrameHeader.size else { return nil }
        let header: FrameHeader
        do {
            header = try buffer.withUnsafeBytes { raw in
                try FrameHeader.parse(UnsafeRawBufferPointer(rebasing: raw[start..<(start + FrameHeader.size)]),
                                      maxPayloadBytes: maxPayloadBytes)
            }
        } catch let error as ProtocolError {
            return try fail(error)
        }
        let total = FrameHeader.size + Int(header.payloadLength)
        guard available >= total else {
            // The length passed the limit check, so reserving room for the whole frame is bounded.
            buffer.reserveCapacity(start + total)
            return nil
        }
        let payload = Array(buffer[(start + FrameHeader.size)..<(start + total)])
        start += total
        if start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            start = 0
        }
        return Frame(header: header, payload: payload)
    }

    /// All complete frames currently buffered, in order.
    public mutating func allFrames() throws -> [Frame] {
        var frames: [Frame] = []
        while let frame = try nextFrame() { frames.append(frame) }
        return frames
    }

    private mutating func fail(_ error: ProtocolError) throws -> Frame? {
        failure = error
        buffer = []
        start = 0
        throw error
    }

    private mutating func compactIfWorthwhile() {
        if start > 0 && start >= buffer.count / 2 {
            buffer.removeFirst(start)
            start = 0
        }
    }
}
