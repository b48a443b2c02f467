// Request handling: dispatch, replies, and the small requests answered at once (HELLO, INFO, STATS, REFIT). The
// requests that go through the log, a batch's queue or the pool have an operation type each, in Operations/:
// `MapOperation`, `TransientMapOperation`, `ExpressionMapOperation`, `ForgetOperation`, `ExportOperation`.
// Loop thread only.
import HarmonyCore
import HarmonyProtocol

/// A reply the server owes: where it goes and when the request arrived (for latency percentiles).
struct PendingReply {
    /// The connection the request came on.
    let connection: Connection
    /// The reply slot reserved for the request.
    let slot: UInt64
    /// The request id to echo.
    let requestID: UInt32
    /// Loop time (ns) when the frame was read.
    let started: UInt64
    /// The protocol version of the reply's header: the request's (HELLO's reply: the chosen one).
    var version: UInt8
}

extension HarmonyServer {
    func connection(_ connection: Connection, received frame: Frame, slot: UInt64) {
        let reply = PendingReply(connection: connection, slot: slot, requestID: frame.header.requestID,
                                 started: EventLoop.now(), version: frame.header.version)
        guard !draining else {
            return fail(reply, .shuttingDown, "harmonyd is shutting down; reconnect to a restarted server")
        }
        let message: Message
        do {
            message = try Message.decodeRequest(frame)
        } catch let error as ProtocolError {
            return send(reply, ErrorReply(error).encodedFrame(requestID: reply.requestID))
        } catch {
            return fail(reply, .internal, "\(error)")
        }
        switch message {
        case .mapExpression(let request):
            return ExpressionMapOperation(server: self, request: request, transient: false, reply: reply).start()
        case .mapExpressionTransient(let request):
            return ExpressionMapOperation(server: self, request: request.map, transient: true, reply: reply).start()
        default:
            // Behind a MAP_EXPRESSION still being projected, if any (requests are admitted in read order).
            connection.admissions.admit { [self] in dispatch(message, reply) }
        }
    }

    private func dispatch(_ message: Message, _ reply: PendingReply) {
        switch message {
        case .hello(let request): hello(request, reply)
        case .info: info(reply)
        case .stats: stats(reply)
        case .map(let request): MapOperation(server: self, request: request, reply: reply, type: .map).start()
        case .export(let request): ExportOperation(server: self, request: request, reply: reply).start()
        case .refit: refit(reply)
        case .forget(let request): ForgetOperation(server: self, request: request, reply: reply).start()
        case .mapTransient(let request):
            TransientMapOperation(server: self, request: request.map, reply: reply, type: .mapTransient).start()
        default:
            // decodeRequest lets no reply type through.
            fail(reply, .unknownType, "\(message.type.name) is a reply type; clients send requests only")
        }
    }

    // MARK: - Replies

    /// Delivers a complete reply frame in request order and records its latency.
    func send(_ reply: PendingReply, _ frame: [UInt8]) {
        statistics.latency.record(microseconds: (EventLoop.now() - reply.started) / 1000)
        statistics.requestsServed += 1
        // Replies whose layout grew (INFO, MAP replies) are encoded in the request's version; the others in the
        // current one, and a client of an older version gets its own version back (their layouts are the same).
        var frame = frame
        if frame.count >= FrameHeader.size && frame[4] != reply.version { frame[4] = reply.version }
        reply.connection.complete(reply.slot, with: frame)
    }

    /// Delivers an ERROR reply, and logs it (at most a few lines a second).
    func fail(_ reply: PendingReply, _ code: ErrorCode, _ message: String) {
        let admitted = refusalLogLimit.admit(now: EventLoop.now())
        if admitted.allowed {
            log.event("request-refused", "connection=\(reply.connection.id) request=\(reply.requestID) "
                      + "code=\(code.name)" + (admitted.heldBack > 0 ? " not_logged_before=\(admitted.heldBack)" : "")
                      + " message=\"\(message.prefix(200))\"", level: .warning)
        }
        send(reply, ErrorReply(code: code, message: message).encodedFrame(requestID: reply.requestID))
    }

    // MARK: - HELLO, INFO, STATS

    private func hello(_ request: HelloRequest, _ reply: PendingReply) {
        guard let chosen = ProtocolVersion.negotiate(clientMin: request.minVersion, clientMax: request.maxVersion) else {
            return fail(reply, .unsupportedVersion, "harmonyd speaks protocol versions \(ProtocolVersion.minimum)..."
                        + "\(ProtocolVersion.maximum); the client offered \(request.minVersion)...\(request.maxVersion)")
        }
        var answer = reply
        answer.version = chosen
        send(answer, HelloReply(version: chosen, serverName: "harmonyd \(HarmonyServerInfo.version) (libuv "
                                + "\(HarmonyServerInfo.libuvVersion))").encodedFrame(requestID: reply.requestID))
    }

    private func info(_ reply: PendingReply) {
        let model = models.current.model
        send(reply, InfoReply(modelVersion: models.current.version, dimensions: model.dimension,
                              clusters: model.clusterCount,
                              referenceCells: UInt64(model.cellCount), maxFrameBytes: configuration.maxFrameBytes,
                              maxCellsPerMap: configuration.maxCellsPerMap,
                              maxConnections: configuration.maxConnections,
                              batches: model.covariates.first?.levels ?? [], labels: models.current.labelNames,
                              hasMappingDistance: models.current.distance != nil,
                              geneSpace: models.current.infoGeneSpace)
            .encodedFrame(requestID: reply.requestID, version: reply.version))
    }

    private func stats(_ reply: PendingReply) {
        let latency = statistics.latency
        let percentiles = LatencyPercentiles(p50: latency.percentile(0.5), p90: latency.percentile(0.9),
                                             p99: latency.percentile(0.99), p999: latency.percentile(0.999))
        let counts = table.nonEmpty.map { BatchCount(batch: $0.name, cells: UInt64($0.cellCount)) }
        let uptime = (EventLoop.now() - statistics.startedAt) / 1_000_000
        send(reply, StatsReply(modelVersion: models.current.version, uptimeMilliseconds: uptime,
                               cellsMapped: table.cellsHeld, cellsPendingRefit: UInt64(table.cellsPendingRefit),
                               requestsServed: statistics.requestsServed, refitsDone: statistics.refitsDone,
                               refitsFailed: statistics.refitsFailed,
                               connections: UInt32(connections.count), refitRunning: refits.running,
                               latency: percentiles, batches: counts)
            .encodedFrame(requestID: reply.requestID))
    }

    // MARK: - REFIT

    private func refit(_ reply: PendingReply) {
        if refits.running {
            return fail(reply, .refitInProgress, "a refit to model version \(models.current.version + 1) is running")
        }
        let outcome = startRefit(trigger: "request")
        send(reply, RefitReply(accepted: outcome.accepted, modelVersion: models.current.version, message: outcome.message)
            .encodedFrame(requestID: reply.requestID))
    }
}
