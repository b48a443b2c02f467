// Background refits: started by REFIT or once --refit-after cells accumulated; at most one at a time.
// Loop thread only; the refit itself runs in `RefitJob.run` on a background thread of its own.
// Requests that started on the old model finish on it (they captured its `ServedModel`); batch states are
// rebuilt lazily under the new one.
import HarmonyCore

extension HarmonyServer {
    /// Starts a refit when automatic refits are on and enough cells have accumulated.
    func scheduleRefitIfDue() {
        guard configuration.refitAfter > 0, !refits.running, !draining,
              table.cellsPendingRefit >= max(configuration.refitAfter, refits.nextAutomaticAt) else { return }
        let outcome = startRefit(trigger: "refit-after")
        if !outcome.accepted {
            // Try again only after another --refit-after cells, not on every request.
            refits.nextAutomaticAt = table.cellsPendingRefit + configuration.refitAfter
            log.event("refit-skipped", outcome.message)
        }
    }

    /// Starts a background refit of the reference plus every cell accepted since the last one.
    func startRefit(trigger: String) -> (accepted: Bool, message: String) {
        guard !refits.running else { return (false, "a refit is already running") }
        guard !draining else { return (false, "harmonyd is shutting down") }
        let current = models.current
        guard !current.model.isCompact else {
            return (false, "the model is compact (it keeps no reference cells), so it cannot be refitted")
        }
        guard !table.batches.values.contains(where: \.forgetting) else {
            return (false, "a FORGET is being logged; ask again once it is answered")
        }
        // Only durable records: a record still being written may fail, and then never exists.
        let through = table.lastSequence
        guard through > current.foldedSequence else { return (false, "no cells arrived since the last refit") }
        var cells: [RefitJob.Cells] = []
        for batch in table.batches.values {
            for chunk in batch.chunks(in: (current.foldedSequence + 1)...through) {
                cells.append(RefitJob.Cells(batch: batch.name, sequence: chunk.sequence, ids: chunk.ids,
                                            values: chunk.values, count: chunk.count))
            }
        }
        cells.sort { $0.sequence < $1.sequence }
        let folded = cells.reduce(0) { $0 + $1.count }
        guard folded > 0 else { return (false, "no cells arrived since the last refit") }
        let job = RefitJob(current: current, cells: cells, foldedSequence: through, store: models.files,
                           threads: BackgroundThread.refitThreads(configured: configuration.threads))
        refits.running = true
        let started = EventLoop.now()
        log.event("refit-start", "trigger=\(trigger) from_version=\(current.version) "
                  + "reference_cells=\(current.model.cellCount) new_cells=\(folded)")
        let lambda = configuration.queryLambda, clusterLabels = configuration.clusterLabels
        let distances = configuration.mappingDistances
        // The refit's thread hands its result over and wakes the loop; the waker keeps the loop alive meanwhile.
        let result = HandOff<Result<(served: ServedModel, path: String), Error>>()
        let waker: LoopWaker
        do {
            waker = try LoopWaker(loop: loop) { [self] in
                guard let outcome = result.take() else { return }
                refitFinished(outcome, current: current, folded: folded, started: started)
            }
        } catch {
            refits.running = false
            return (false, "the refit could not be started: \(error)")
        }
        let cancel = CancellationFlag()
        refits.cancellation = cancel
        BackgroundThread.start({ try job.run(queryLambda: lambda, clusterLabels: clusterLabels, mappingDistances: distances,
                                                   cancel: cancel) },
                               finished: { outcome in
            result.put(outcome)
            waker.wake()
        })
        refits.waker = waker
        return (true, "refit to model version \(current.version + 1) started with \(folded) new cells")
    }
}

extension HarmonyServer {
    // On the loop thread, once the refit's thread has handed over its result.
    fileprivate func refitFinished(_ result: Result<(served: ServedModel, path: String), Error>, current: ServedModel,
                                   folded: Int, started: UInt64) {
        refits.waker?.close()
        refits.waker = nil
        refits.cancellation = nil
        refits.running = false
        let seconds = Double(EventLoop.now() - started) / 1e9
        do {
            let (next, path) = try result.get()
            models.current = next
            let model = next.model
            table.folded(folded)
            statistics.refitsDone += 1
            refits.nextAutomaticAt = 0
            log.event("refit-end", "version=\(model.modelVersion) cells=\(model.cellCount) "
                      + "ms=\(Int(seconds * 1000)) file=\(path)")
            checkpointLog()
        } catch let cancelled as FitCancelled {
            log.event("refit-cancelled", "version=\(current.version) keeps serving: \(cancelled)")
        } catch {
            statistics.refitsFailed += 1
            refits.nextAutomaticAt = table.cellsPendingRefit + configuration.refitAfter
            log.event("refit-failed", "version=\(current.version) keeps serving: \(error)", level: .error)
        }
        finishShutdownIfQuiet()
        scheduleRefitIfDue()
    }

    // After a refit: the batches' cells go to the checkpoint and the log is cut (see `Checkpoint`), so a restart
    // replays only what came after. The checkpoint is taken between two group commits, from the batch table as
    // the durable records left it.
    fileprivate func checkpointLog() {
        let dims = models.current.model.dimension
        wal.checkpoint(to: models.files.checkpointPath, prepare: { [self] in
            Checkpoint(batches: table.batches.values, through: table.lastSequence, dims: dims)
        }, done: { [self] error in
            if let error {
                log.event("checkpoint-failed", "the log keeps every record: \(error)", level: .warning)
            } else {
                log.event("checkpoint", "through=\(table.lastSequence) log_cut=true")
            }
        })
    }
}
