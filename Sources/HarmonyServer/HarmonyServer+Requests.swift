// Request handling: one method per message type. Loop thread only; large mapping work goes to the pool
// through the batch's serial queue (QueryBatch.enqueue), and MAP replies wait for their WAL record to sync.
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
}

extension HarmonyServer {
    func connection(_ connection: Connection, received frame: Frame, slot: UInt64) {
        let reply = PendingReply(connection: connection, slot: slot, requestID: frame.header.requestID,
                                 started: EventLoop.now())
        guard !draining else {
            return fail(reply, .shuttingDown, "harmonyd is shutting down; reconnect to a restarted server")
        }
        let message: Message
        do {
            message = try Message.decode(frame)
        } catch let error as ProtocolError {
            return send(reply, ErrorReply(error).encodedFrame(requestID: reply.requestID))
        } catch {
            return fail(reply, .internal, "\(error)")
        }
        switch message {
        case .hello(let request): hello(request, reply)
        case .info: info(reply)
        case .stats: stats(reply)
        case .map(let request): map(request, reply)
        case .export(let request): export(request, reply)
        case .refit: refit(reply)
        default:
            fail(reply, .unknownType, "\(message.type.name) is a reply type; clients send requests only")
        }
    }

    // MARK: - Replies

    /// Delivers a complete reply frame in request order and records its latency.
    func send(_ reply: PendingReply, _ frame: [UInt8]) {
        latency.record(microseconds: (EventLoop.now() - reply.started) / 1000)
        requestsServed += 1
        reply.connection.complete(reply.slot, with: frame)
    }

    /// Delivers an ERROR reply.
    func fail(_ reply: PendingReply, _ code: ErrorCode, _ message: String) {
        send(reply, ErrorReply(code: code, message: message).encodedFrame(requestID: reply.requestID))
    }

    // MARK: - HELLO, INFO, STATS

    private func hello(_ request: HelloRequest, _ reply: PendingReply) {
        let ours = ProtocolVersion.current
        guard request.minVersion <= ours, ours <= request.maxVersion else {
            return fail(reply, .unsupportedVersion, "harmonyd speaks protocol version \(ours); the client offered "
                        + "\(request.minVersion)...\(request.maxVersion)")
        }
        send(reply, HelloReply(version: ours, serverName: "harmonyd (libuv \(HarmonyServerInfo.libuvVersion))")
            .encodedFrame(requestID: reply.requestID))
    }

    private func info(_ reply: PendingReply) {
        let model = served.model
        send(reply, InfoReply(modelVersion: served.version, dimensions: model.dimension, clusters: model.clusterCount,
                              referenceCells: UInt64(model.cellCount), maxFrameBytes: configuration.maxFrameBytes,
                              maxCellsPerMap: configuration.maxCellsPerMap,
                              maxConnections: configuration.maxConnections,
                              batches: model.covariates.first?.levels ?? [], labels: served.labelNames)
            .encodedFrame(requestID: reply.requestID))
    }

    private func stats(_ reply: PendingReply) {
        let percentiles = LatencyPercentiles(p50: latency.percentile(0.5), p90: latency.percentile(0.9),
                                             p99: latency.percentile(0.99), p999: latency.percentile(0.999))
        let counts = batches.values.map { BatchCount(batch: $0.name, cells: UInt64($0.cellCount)) }
            .sorted { $0.batch < $1.batch }
        send(reply, StatsReply(modelVersion: served.version, uptimeMilliseconds: (EventLoop.now() - startedAt) / 1_000_000,
                               cellsMapped: cellsMapped, cellsPendingRefit: UInt64(cellsPendingRefit),
                               requestsServed: requestsServed, refitsDone: refitsDone, refitsFailed: refitsFailed,
                               connections: UInt32(connections.count), refitRunning: refitRunning,
                               latency: percentiles, batches: counts)
            .encodedFrame(requestID: reply.requestID))
    }

    // MARK: - MAP

    private func map(_ request: MapRequest, _ reply: PendingReply) {
        let d = served.model.dimension
        guard request.dimensions == d else {
            return fail(reply, .badDimension, "the cells have \(request.dimensions) dimensions; the model has \(d)")
        }
        guard request.cellCount <= configuration.maxCellsPerMap else {
            return fail(reply, .tooManyCells, "\(request.cellCount) cells in one MAP; the limit is "
                        + "\(configuration.maxCellsPerMap)")
        }
        let batch = batches[request.batch] ?? QueryBatch(name: request.batch)
        batches[request.batch] = batch
        let chunk = QueryBatch.Chunk(sequence: nextSequence, count: request.cellCount, values: request.values,
                                     ids: request.cellIDs)
        nextSequence += 1
        batch.accept(chunk)
        cellsMapped += UInt64(chunk.count)
        cellsPendingRefit += chunk.count

        // The reply goes out once both the mapping is done and the record is durable.
        var mapped: [UInt8]?
        var durable = false
        var replied = false
        func finish() {
            guard !replied, durable, let frame = mapped else { return }
            replied = true
            send(reply, frame)
        }
        wal.append(WALRecord(sequence: chunk.sequence, batch: request.batch, ids: request.cellIDs ?? [],
                             count: chunk.count, dims: d, cells: request.values)) { [self] error in
            if let error {
                log.event("wal-error", "\(error)")
                if !replied {
                    replied = true
                    fail(reply, .internal, "the cells could not be made durable: \(error)")
                }
                return
            }
            durable = true
            finish()
        }
        batch.enqueue { [self] done in
            let model = served
            let state = batch.state, version = batch.stateVersion, prior = batch.statedCells
            let rebuild = state == nil || version != model.version
            let history = rebuild ? batch.chunks : []
            batch.state = nil
            let work = { BatchMapping.map(chunk.values, count: chunk.count, batch: batch.name,
                                          requestID: reply.requestID, state: state, builtFor: version,
                                          history: history, historyCells: prior, model: model) }
            let publish = { (outcome: BatchMapping.Outcome) in
                batch.state = outcome.state
                batch.stateVersion = outcome.state == nil ? 0 : model.version
                // A failed job leaves no state; the next operation rebuilds it from all processed cells.
                batch.statedCells = prior + chunk.count
                mapped = outcome.frame
                finish()
                done()
            }
            if chunk.count + (rebuild ? prior : 0) <= configuration.inlineCellLimit {
                publish(work())
            } else {
                loop.submit(work, completion: publish)
            }
        }
        scheduleRefitIfDue()
    }

    // MARK: - EXPORT

    private func export(_ request: ExportRequest, _ reply: PendingReply) {
        guard let batch = batches[request.batch] else {
            return fail(reply, .unknownBatch, "no cells of batch \"\(request.batch)\" have been mapped")
        }
        // A log written before batch labels were limited may hold a longer one; its generated ids would not
        // fit a str16, so such a batch is refused rather than encoded.
        guard batch.name.utf8.count <= ProtocolLimits.maxBatchLabelBytes else {
            return fail(reply, .malformed, "batch labels longer than \(ProtocolLimits.maxBatchLabelBytes) bytes "
                        + "cannot be exported")
        }
        // A frame's length field is 32 bits: a batch beyond that cannot be exported in one reply.
        let replyBytes = batch.cellCount * (4 * served.model.dimension + 2) + batch.idBytes
        guard replyBytes < Int(UInt32.max) - 64 else {
            return fail(reply, .tooManyCells, "batch \"\(request.batch)\" has \(batch.cellCount) cells, more than "
                        + "one EXPORT reply (4 GiB) can carry")
        }
        batch.enqueue { [self] done in
            let model = served
            let state = batch.state, version = batch.stateVersion
            // Every MAP of this batch accepted before the EXPORT has run, so the state covers all its cells.
            let cells = batch.cellCount
            let history = batch.chunks
            batch.state = nil
            let work = { BatchMapping.export(batch: batch.name, requestID: reply.requestID, state: state,
                                             builtFor: version, history: history, cells: cells, model: model) }
            let publish = { (outcome: BatchMapping.Outcome) in
                batch.state = outcome.state
                batch.stateVersion = outcome.state == nil ? 0 : model.version
                batch.statedCells = cells
                self.send(reply, outcome.frame)
                done()
            }
            if cells <= configuration.inlineCellLimit {
                publish(work())
            } else {
                loop.submit(work, completion: publish)
            }
        }
    }

    // MARK: - REFIT

    private func refit(_ reply: PendingReply) {
        if refitRunning {
            return fail(reply, .refitInProgress, "a refit to model version \(served.version + 1) is running")
        }
        let outcome = startRefit(trigger: "request")
        send(reply, RefitReply(accepted: outcome.accepted, modelVersion: served.version, message: outcome.message)
            .encodedFrame(requestID: reply.requestID))
    }
}
