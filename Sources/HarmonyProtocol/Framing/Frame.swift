/// One complete frame: its header and its payload bytes (not yet interpreted).
public struct Frame: Equatable, Sendable {
    /// The frame header.
    public var header: FrameHeader
    /// The payload, `header.payloadLength` bytes.
    public var payload: [UInt8]

    /// A frame from a header and a payload whose length matches the header.
    public init(header: FrameHeader, payload: [UInt8]) {
        precondition(Int(header.payloadLength) == payload.count, "payload length does not match the header")
        self.header = header
        self.payload = payload
    }

    /// A frame of a known type with a payload; the header's length is set from the payload.
    public init(type: MessageType, requestID: UInt32, payload: [UInt8], version: UInt8 = ProtocolVersion.current) {
        precondition(payload.count <= Int(UInt32.max), "payload too large for a frame")
        self.init(header: FrameHeader(type: type, requestID: requestID, payloadLength: UInt32(payload.count),
                                      version: version),
                  payload: payload)
    }

    /// Header and payload as one byte array, ready to write to a socket.
    public var bytes: [UInt8] {
        var writer = ByteWriter(capacity: FrameHeader.size + payload.count)
        header.write(into: &writer)
        writer.writeBytes(payload)
        return writer.take()
    }
}
