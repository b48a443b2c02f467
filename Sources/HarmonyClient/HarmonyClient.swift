import HarmonyProtocol

// A blocking harmonyd client: one request at a time (`info()`, `map(...)`, ...) or a window of pipelined MAP
// requests (`mapMany`). Replies arrive in request order (Protocols/harmonyd-protocol.md, "Pipelining"), so the
// client checks each reply's request id against the oldest request in flight. Not thread-safe: use one client
// per thread.

/// A blocking client of harmonyd over its Unix socket.
public final class HarmonyClient {
    /// Largest reply payload accepted (EXPORT replies of large batches exceed the request limit).
    public static let maxReplyBytes = 1 << 30

    /// The socket path this client is connected to.
    public let path: String
    /// The protocol version in use (after `hello()`, the negotiated one).
    public private(set) var version: UInt8 = ProtocolVersion.current
    private let socket: UnixSocket
    private var decoder = FrameDecoder(maxPayloadBytes: HarmonyClient.maxReplyBytes)
    private var nextRequestID: UInt32 = 1
    private var readBuffer = [UInt8](repeating: 0, count: 1 << 16)

    /// Connects to the daemon listening at `path`; `timeoutSeconds` > 0 bounds each read and write.
    public init(path: String, timeoutSeconds: Double = 0) throws {
        self.path = path
        socket = try UnixSocket(path: path, timeoutSeconds: timeoutSeconds)
    }

    /// Connects to the daemon listening at `path`.
    public static func connect(_ path: String, timeoutSeconds: Double = 0) throws -> HarmonyClient {
        try HarmonyClient(path: path, timeoutSeconds: timeoutSeconds)
    }

    /// Closes the connection; later calls fail.
    public func close() { socket.close() }

    /// Negotiates the protocol version (the server picks the highest common one) and returns the server's answer.
    @discardableResult
    public func hello(clientName: String = "harmony-swift") throws -> HelloReply {
        let reply: HelloReply = try roundTrip(HelloRequest(clientName: clientName))
        guard ProtocolVersion.isSupported(reply.version) else {
            throw ClientError.protocolViolation("the server chose protocol version \(reply.version), "
                                                + "which this client does not speak")
        }
        version = reply.version
        return reply
    }

    /// The model the server maps with and its limits.
    public func info() throws -> InfoReply { try roundTrip(InfoRequest()) }

    /// Server counters, refit state and latency percentiles.
    public func stats() throws -> StatsReply { try roundTrip(StatsRequest()) }

    /// Asks for a background refit.
    public func refit() throws -> RefitReply { try roundTrip(RefitRequest()) }

    /// The current corrections of every query cell of `batch`.
    public func export(batch: String) throws -> ExportReply { try roundTrip(ExportRequest(batch: batch)) }

    /// Maps the cells of one batch (`values` row-major, `dimensions` per cell); `ids`, if given, has one id per
    /// cell.
    public func map(batch: String, ids: [String]? = nil, values: [Float], dimensions: Int) throws -> MapReply {
        try map(try HarmonyClient.mapRequest(batch: batch, ids: ids, values: values, dimensions: dimensions))
    }

    /// Sends one MAP request and waits for its reply.
    public func map(_ request: MapRequest) throws -> MapReply { try roundTrip(request) }

    /// Maps cells without the daemon remembering or logging them (MAP_TRANSIENT, protocol version 2): the answer
    /// a MAP would get now, with the batch left as it was.
    public func mapTransient(batch: String, ids: [String]? = nil, values: [Float], dimensions: Int) throws -> MapReply {
        let reply: TransientMapReply = try roundTrip(TransientMapRequest(
            try HarmonyClient.mapRequest(batch: batch, ids: ids, values: values, dimensions: dimensions)))
        return reply.reply
    }

    /// Drops every cell of `batch` from the daemon (FORGET, protocol version 2); returns how many it held.
    @discardableResult
    public func forget(batch: String) throws -> UInt64 {
        let reply: ForgetReply = try roundTrip(ForgetRequest(batch: batch))
        return reply.cellsForgotten
    }

    /// Sends MAP requests keeping up to `window` in flight, and hands each reply to `onReply` with the index of its
    /// request, in request order. On a server error (or an error thrown by `onReply`) no further request is sent,
    /// the replies already due are read, and the first error is thrown; the connection stays usable. Transport
    /// and protocol failures (`ClientError` other than `.server`) are thrown at once.
    /// With `transient`, the requests go as MAP_TRANSIENT: answered, but neither remembered nor logged.
    public func mapMany(_ requests: [MapRequest], window: Int = 4, transient: Bool = false,
                        onReply: (Int, MapReply) throws -> Void) throws {
        var next = 0
        func take() -> MapRequest? {
            defer { next += 1 }
            return next < requests.count ? requests[next] : nil
        }
        if transient {
            try pipeline(window: window, next: { take().map(TransientMapRequest.init) },
                         unwrap: { (reply: TransientMapReply) in reply.reply }, onReply: onReply)
        } else {
            try pipeline(window: window, next: take, unwrap: { (reply: MapReply) in reply }, onReply: onReply)
        }
    }

    /// Maps cells given as sparse expression over the reference's genes (MAP_EXPRESSION, protocol version 3; INFO's
    /// `geneSpace` lists the genes): the answer of a MAP of their projection, with mapping distances.
    public func mapExpression(_ request: ExpressionMapRequest, transient: Bool = false) throws -> MapReply {
        if transient {
            let reply: TransientExpressionMapReply = try roundTrip(TransientExpressionMapRequest(request))
            return reply.reply
        }
        let reply: ExpressionMapReply = try roundTrip(request)
        return reply.reply
    }

    /// Sends the MAP_EXPRESSION requests `next()` produces (until it returns nil), keeping up to `window` in
    /// flight, with `mapMany`'s error handling; `onReply` gets each reply with its request's index, in order.
    /// With `transient`, they go as MAP_EXPRESSION_TRANSIENT.
    public func mapExpressionMany(window: Int = 4, transient: Bool = false, next: () throws -> ExpressionMapRequest?,
                                  onReply: (Int, MapReply) throws -> Void) throws {
        if transient {
            try pipeline(window: window, next: { try next().map(TransientExpressionMapRequest.init) },
                         unwrap: { (reply: TransientExpressionMapReply) in reply.reply }, onReply: onReply)
        } else {
            try pipeline(window: window, next: next, unwrap: { (reply: ExpressionMapReply) in reply.reply },
                         onReply: onReply)
        }
    }

    // The pipelining of `mapMany` and `mapExpressionMany`: requests from `next()` until it returns nil, up to
    // `window` in flight, replies in request order.
    private func pipeline<Request: WireMessage, Reply: WireMessage>(
        window: Int, next: () throws -> Request?, unwrap: (Reply) -> MapReply,
        onReply: (Int, MapReply) throws -> Void) throws {
        precondition(window >= 1, "a pipeline needs a window of at least one request")
        var inFlight: [(index: Int, id: UInt32)] = []
        var sent = 0
        var exhausted = false
        var firstError: Error?
        while true {
            while firstError == nil && !exhausted && inFlight.count < window {
                guard let request = try next() else {
                    exhausted = true
                    break
                }
                inFlight.append((sent, try send(request)))
                sent += 1
            }
            guard !inFlight.isEmpty else { break }
            let oldest = inFlight.removeFirst()
            do {
                let reply: Reply = try receive(requestID: oldest.id)
                // An error thrown by the callback also stops sending, after the replies due are drained.
                if firstError == nil { try onReply(oldest.index, unwrap(reply)) }
            } catch let error as ClientError where error.serverCode != nil {
                if firstError == nil { firstError = error }
            } catch let error as ClientError {
                throw error
            } catch {
                if firstError == nil { firstError = error }
            }
        }
        if let firstError { throw firstError }
    }

    /// A MAP request for cells given row-major (`dimensions` values each), checking that `ids` (if any) has one
    /// id per cell.
    public static func mapRequest(batch: String, ids: [String]?, values: [Float], dimensions: Int) throws -> MapRequest {
        guard dimensions > 0, values.count % dimensions == 0 else {
            throw ClientError.invalidArgument("\(values.count) values do not make cells of \(dimensions) dimensions")
        }
        let rows = values.count / dimensions
        if let ids, ids.count != rows {
            throw ClientError.invalidArgument("\(ids.count) cell ids for \(rows) cells")
        }
        guard !batch.isEmpty, batch.utf8.count <= ProtocolLimits.maxShortStringBytes else {
            throw ClientError.invalidArgument("a batch label must have 1 to 65535 bytes")
        }
        return MapRequest(batch: batch, cellCount: rows, dimensions: dimensions, values: values, cellIDs: ids)
    }

    // MARK: - Frames

    /// Sends any request and waits for its reply (an ERROR reply is thrown as `ClientError.server`).
    public func roundTrip<Request: WireMessage, Reply: WireMessage>(_ request: Request,
                                                                    as type: Reply.Type = Reply.self) throws -> Reply {
        try receive(requestID: try send(request))
    }

    /// Sends a request without waiting (pipelining); returns its request id, for `receive` in sending order.
    @discardableResult
    public func send<Request: WireMessage>(_ request: Request) throws -> UInt32 {
        let id = nextRequestID
        nextRequestID = nextRequestID == UInt32.max ? 1 : nextRequestID + 1
        try socket.writeAll(request.encodedFrame(requestID: id, version: version))
        return id
    }

    /// The reply to the oldest request in flight, which must be `requestID` (replies come in request order).
    public func receive<Reply: WireMessage>(requestID: UInt32, as type: Reply.Type = Reply.self) throws -> Reply {
        let frame = try nextFrame()
        // An ERROR with request id 0 answers no request in particular (e.g. BUSY for a connection over the limit).
        let isError = frame.header.typeByte == MessageType.error.rawValue
        guard frame.header.requestID == requestID || (isError && frame.header.requestID == 0) else {
            throw ClientError.protocolViolation("expected the reply to request \(requestID), "
                                                + "got one for request \(frame.header.requestID)")
        }
        do {
            if isError {
                let error = try ErrorReply(frame: frame)
                throw ClientError.server(code: error.code, name: error.name, message: error.message,
                                         requestID: requestID)
            }
            return try Reply(frame: frame)
        } catch let error as ProtocolError {
            throw ClientError.protocolViolation("bad reply from the server: \(error)")
        }
    }

    private func nextFrame() throws -> Frame {
        while true {
            do {
                if let frame = try decoder.nextFrame() { return frame }
            } catch let error as ProtocolError {
                throw ClientError.protocolViolation("the server's byte stream is broken: \(error)")
            }
            let n = try readBuffer.withUnsafeMutableBytes { try socket.readSome(into: $0) }
            if n == 0 { throw ClientError.closed("the server closed the connection before replying") }
            readBuffer.withUnsafeBytes { decoder.append(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        }
    }
}
