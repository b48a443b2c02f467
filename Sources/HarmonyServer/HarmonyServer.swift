// harmonyd's server: wiring of the loop, the listening socket, connections, the write-ahead log, batches and
// refits. Request handling is in HarmonyServer+Requests.swift, refits in HarmonyServer+Refit.swift.
//
// Thread contract: `init` runs on the caller's thread before the loop exists for anyone else; `run()` runs the
// loop on the calling thread, and from then on every member is touched only by that thread, except `stop()`,
// which may be called from any thread (it goes through a `uv_async_t`). Mapping of large requests, EXPORTs of
// large batches, WAL writes and refits run on libuv's thread pool and publish their results in after-work
// callbacks on the loop thread.
import CLibUV
import COpenBLAS
import HarmonyCore
import HarmonyProtocol
#if canImport(Glibc)
import Glibc
#endif

/// The harmonyd daemon: serves a Harmony reference model over a Unix-domain socket.
public final class HarmonyServer {
    /// The settings the server runs with.
    public let configuration: ServerConfiguration
    let log: ServerLog
    let loop: EventLoop
    let store: ModelStore
    let wal: WriteAheadLog
    // Held while the server exists: no other daemon may use the same state directory.
    private let stateLock: DirectoryLock
    /// The model new requests are mapped with.
    var served: ServedModel
    var batches: [String: QueryBatch] = [:]
    var nextSequence: UInt64
    var connections: [UInt64: Connection] = [:]
    private var nextConnectionID: UInt64 = 1
    private var listener: PipeListener?
    private var waker: LoopWaker?
    private var sweepTimer: LoopTimer?
    private var graceTimer: LoopTimer?
    private var signalWatchers: [SignalWatcher] = []
    /// True once shutdown began: no new connections or requests.
    private(set) var draining = false
    let startedAt = EventLoop.now()
    // Counters reported by STATS.
    var cellsMapped: UInt64 = 0
    var requestsServed: UInt64 = 0
    var cellsPendingRefit = 0
    var refitsDone: UInt32 = 0
    var refitsFailed: UInt32 = 0
    var refitRunning = false
    /// After a failed or refused automatic refit, the pending count at which the next one is tried.
    var nextAutomaticRefitAt = 0
    var latency = LatencyRecorder()

    /// Loads the model and the write-ahead log from the state directory, binds the socket, and gets ready to
    /// `run()`. `model` (for embedding the server in tests) replaces the `--reference` file when the state
    /// directory has no model of its own.
    public init(configuration: ServerConfiguration, model: ReferenceModel? = nil) throws {
        try configuration.validate()
        self.configuration = configuration
        log = ServerLog(quiet: configuration.quiet)
        // A peer that hangs up while its replies are written must give EPIPE, not kill the daemon.
        signal(SIGPIPE, SIG_IGN)
        if configuration.threads > 0 { setenv("UV_THREADPOOL_SIZE", "\(configuration.threads)", 1) }
        // Parallelism comes from the pool (one request per thread); BLAS threads would only compete with it
        // and with the loop. Refits get all cores but one through the fit's own threads.
        openblas_set_num_threads(Int32(BackgroundThread.refitThreads(configured: configuration.threads)))
        try StateFiles.ensureDirectory(configuration.stateDirectory)
        // Nothing in the state directory is read or cut before no other daemon can be using it.
        stateLock = try DirectoryLock(directory: configuration.stateDirectory)
        store = ModelStore(directory: configuration.stateDirectory)

        // MARK: Model: the state directory's own (after a refit) wins over --reference.
        let loaded: (model: ReferenceModel, foldedSequence: UInt64, source: String)
        if let current = try store.loadCurrent() {
            loaded = current
        } else if let model {
            loaded = (model, 0, "the embedding program")
        } else if let path = configuration.referencePath {
            loaded = (try ModelStore.readModel(path), 0, path)
        } else {
            throw ServerError.configuration("no model: pass --reference model.hmod (the state directory "
                                            + "\(configuration.stateDirectory) has none yet)")
        }
        served = try ServedModel(model: loaded.model, queryLambda: configuration.queryLambda,
                                 foldedSequence: loaded.foldedSequence)
        log.event("model-loaded", "version=\(served.version) K=\(served.model.clusterCount) "
                  + "d=\(served.model.dimension) reference_cells=\(served.model.cellCount) from=\(loaded.source)")

        // MARK: Recovery: replay the write-ahead log into batches.
        let recovery = try WALRecovery.read(path: store.walPath)
        if let reason = recovery.discardReason {
            log.event("recovery-discarded", "bytes=\(recovery.discardedBytes) reason=\"\(reason)\"")
        }
        var lastSequence: UInt64 = 0
        for record in recovery.records {
            let batch = batches[record.batch] ?? QueryBatch(name: record.batch)
            batches[record.batch] = batch
            batch.accept(QueryBatch.Chunk(sequence: record.sequence, count: record.count, values: record.cells,
                                          ids: record.ids.isEmpty ? nil : record.ids))
            if record.sequence > served.foldedSequence { cellsPendingRefit += record.count }
            lastSequence = max(lastSequence, record.sequence)
        }
        nextSequence = max(lastSequence, served.foldedSequence) + 1
        if !recovery.records.isEmpty {
            log.event("recovery", "records=\(recovery.records.count) cells=\(batches.values.reduce(0) { $0 + $1.cellCount }) "
                      + "batches=\(batches.count) pending_refit=\(cellsPendingRefit)")
        }

        // MARK: Loop and handles.
        loop = try EventLoop()
        wal = try WriteAheadLog(path: store.walPath, loop: loop, validBytes: recovery.validBytes,
                                sync: configuration.syncWAL)
        do {
            try startHandles()
        } catch {
            closeHandles()
            loop.run()
            loop.close()
            throw error
        }
        log.event("start", "socket=\(configuration.socketPath) state_dir=\(configuration.stateDirectory) "
                  + "libuv=\(HarmonyServerInfo.libuvVersion) wal_sync=\(configuration.syncWAL) pid=\(getpid())")
    }

    private func startHandles() throws {
        waker = try LoopWaker(loop: loop) { [unowned self] in beginShutdown(reason: "stop requested") }
        listener = try PipeListener(loop: loop, path: configuration.socketPath,
                                    mode: mode_t(configuration.socketMode)) { [unowned self] in accept(from: $0) }
        sweepTimer = try LoopTimer(loop: loop, intervalMilliseconds: 1000) { [unowned self] in sweepIdle() }
        if configuration.handleSignals {
            for number in [SIGINT, SIGTERM] {
                signalWatchers.append(try SignalWatcher(loop: loop, signal: number) { [unowned self] number in
                    beginShutdown(reason: number == SIGINT ? "SIGINT" : "SIGTERM")
                })
            }
        }
    }

    /// Serves until `stop()` or SIGINT/SIGTERM, then returns after in-flight work finished and the log is flushed.
    public func run() {
        loop.run()
        loop.close()
        log.event("stopped", "requests=\(requestsServed) cells_mapped=\(cellsMapped)")
    }

    /// Asks the server to shut down cleanly; safe from any thread while `run()` has not returned.
    public func stop() { waker?.wake() }

    // MARK: - Connections

    private func accept(from listener: PipeListener) {
        guard let connection = try? Connection(loop: loop, id: nextConnectionID,
                                               maxPayloadBytes: configuration.maxFrameBytes, handler: self) else {
            return
        }
        nextConnectionID += 1
        do {
            try listener.accept(into: connection.stream)
        } catch {
            log.event("accept-failed", "\(error)")
            connection.close()
            return
        }
        connection.readPeerCredentials()
        if !configuration.allowedUIDs.isEmpty {
            guard let uid = connection.peerUID, configuration.allowedUIDs.contains(uid) else {
                log.event("peer-refused", "uid=\(connection.peerUID.map { "\($0)" } ?? "unknown")")
                connection.close()
                return
            }
        }
        if draining || connections.count >= configuration.maxConnections {
            // Tell the client why before closing; the slot takes the place of a request.
            let code: ErrorCode = draining ? .shuttingDown : .busy
            connection.refuse(with: ErrorReply(code: code, message: draining ? "harmonyd is shutting down" :
                "harmonyd already serves \(configuration.maxConnections) connections (--max-connections)")
                .encodedFrame(requestID: 0))
            return
        }
        connections[connection.id] = connection
        connection.startReading()
    }

    // Closes connections idle for longer than --idle-timeout.
    private func sweepIdle() {
        guard configuration.idleTimeoutSeconds > 0 else { return }
        let limit = UInt64(configuration.idleTimeoutSeconds) * 1_000_000_000
        let now = EventLoop.now()
        for connection in connections.values where connection.isIdle && now - connection.lastActivity > limit {
            log.event("idle-closed", "connection=\(connection.id)")
            connection.close()
        }
    }

    // MARK: - Shutdown

    /// Stops accepting, lets every connection finish the replies it is owed, flushes the WAL, closes handles.
    func beginShutdown(reason: String) {
        guard !draining else { return }
        draining = true
        log.event("shutdown", "reason=\(reason) connections=\(connections.count)")
        listener?.close()
        for watcher in signalWatchers { watcher.close() }
        for connection in connections.values { connection.drain() }
        // A peer that never reads its replies must not hold the shutdown forever.
        graceTimer = try? LoopTimer(loop: loop, intervalMilliseconds: UInt64(configuration.shutdownGraceSeconds) * 1000) {
            [unowned self] in
            if !connections.isEmpty { log.event("shutdown-forced", "connections=\(connections.count)") }
            for connection in connections.values { connection.close() }
            graceTimer?.close()
        }
        finishShutdownIfQuiet()
    }

    /// Closes the remaining handles once no connection, WAL write or refit is left.
    func finishShutdownIfQuiet() {
        guard draining, connections.isEmpty, !refitRunning else { return }
        wal.whenIdle { [self] in
            guard connections.isEmpty, !refitRunning else { return }
            closeHandles()
        }
    }

    private func closeHandles() {
        listener?.close()
        waker?.close()
        sweepTimer?.close()
        graceTimer?.close()
        for watcher in signalWatchers { watcher.close() }
        for connection in connections.values { connection.close() }
    }
}

extension HarmonyServer: ConnectionHandler {
    func connection(_ connection: Connection, lostFraming error: ProtocolError) -> [UInt8] {
        log.event("framing-error", "connection=\(connection.id) \(error)")
        return ErrorReply(error).encodedFrame(requestID: error.requestID)
    }

    func connectionClosed(_ connection: Connection) {
        connections[connection.id] = nil
        finishShutdownIfQuiet()
    }
}
