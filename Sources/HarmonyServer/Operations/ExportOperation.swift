// EXPORT: the corrected coordinates and ids of every cell of a batch that the MAPs read before it have mapped.
// Loop thread only.
//   1. Checks: the batch exists and is not being forgotten.
//   2. In the batch's queue, once every earlier operation is done: checks that the batch has mapped cells, that
//      its label fits generated ids and that the reply fits one frame; then the batch's state is borrowed
//      (`StateLoan`) and every cell corrected with it, inline for small batches, on the pool for large ones.
//   3. Reply and `done()`; every path in the queue ends in exactly one reply and one `done()`.
import HarmonyCore
import HarmonyProtocol

/// One EXPORT request, from its checks to its reply.
struct ExportOperation {
    let server: HarmonyServer
    let request: ExportRequest
    let reply: PendingReply

    /// Checks the batch and queues the export behind the batch's earlier operations.
    func start() {
        guard let batch = server.table.batches[request.batch] else {
            return server.fail(reply, .unknownBatch, "no cells of batch \"\(request.batch)\" have been mapped")
        }
        guard !batch.forgetting else {
            return server.fail(reply, .busy, "batch \"\(request.batch)\" is being forgotten; retry")
        }
        batch.enqueue { done in
            if let (code, message) = refusal(batch) {
                server.fail(reply, code, message)
                return done()
            }
            export(batch, done: done)
        }
    }

    // Step 2's checks, once every MAP of this batch read before the EXPORT has run: nil when it can be exported.
    private func refusal(_ batch: QueryBatch) -> (ErrorCode, String)? {
        // The first `statedCells` cells are exactly the durable cells of those MAPs.
        let cells = batch.statedCells
        guard cells > 0 else { return (.unknownBatch, "no cells of batch \"\(request.batch)\" have been mapped") }
        // A log written before batch labels were limited may hold a longer one; its generated ids would not
        // fit a str16, so such a batch is refused rather than encoded.
        guard batch.name.utf8.count <= ProtocolLimits.maxBatchLabelBytes else {
            return (.malformed, "batch labels longer than \(ProtocolLimits.maxBatchLabelBytes) bytes cannot be exported")
        }
        // A frame's length field is 32 bits: a batch beyond that cannot be exported in one reply.
        let replyBytes = cells * (4 * server.models.current.model.dimension + 2) + batch.idBytes
        guard replyBytes < Int(UInt32.max) - 64 else {
            return (.tooManyCells, "batch \"\(request.batch)\" has \(cells) cells, more than one EXPORT reply (4 GiB) "
                    + "can carry")
        }
        return nil
    }

    // Step 2's correction and step 3.
    private func export(_ batch: QueryBatch, done: @escaping () -> Void) {
        let cells = batch.statedCells
        let loan = StateLoan(taking: batch, server: server)
        let history = batch.chunks, requestID = reply.requestID
        let work = { BatchMapping.export(batch: batch.name, requestID: requestID, state: loan.state,
                                         builtFor: loan.builtFor, history: history, cells: cells, model: loan.model) }
        server.perform(work, inline: cells <= server.configuration.inlineCellLimit) { [server, reply] outcome in
            loan.giveBack(outcome.state, server: server)
            server.send(reply, outcome.frame)
            done()
        }
    }
}
