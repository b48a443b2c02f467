// FORGET: every cell of a batch dropped once a FORGET record is durable. Cells a refit already folded into the
// served model stay in that model's reference. Loop thread only.
//   1. Checks: the batch has cells (or operations), is not being forgotten already, and no refit is folding the
//      current cells in.
//   2. The batch is marked as being forgotten (MAPs of it are refused meanwhile) and the record appended.
//   3. Durable: the batch's cells and state are dropped and the count answered; a failed write changes nothing.
import HarmonyCore
import HarmonyProtocol

/// One FORGET request, from its checks to its reply.
struct ForgetOperation {
    let server: HarmonyServer
    let request: ForgetRequest
    let reply: PendingReply

    /// Checks the request and logs the FORGET; the batch is dropped once the record is durable.
    func start() {
        guard let batch = server.table.batches[request.batch], batch.cellCount > 0 || batch.hasOperations else {
            return server.fail(reply, .unknownBatch, "no cells of batch \"\(request.batch)\" have been mapped")
        }
        guard !batch.forgetting else {
            return server.fail(reply, .busy, "batch \"\(request.batch)\" is already being forgotten")
        }
        guard !server.refits.running else {
            return server.fail(reply, .refitInProgress, "a refit is folding the current cells in; FORGET after it ends")
        }
        batch.forgetting = true
        let record = WALRecord.forget(sequence: server.nextSequence, batch: request.batch)
        server.nextSequence += 1
        let server = server, request = request, reply = reply
        server.wal.append(record) { error in
            batch.forgetting = false
            if let error {
                server.log.event("wal-error", "\(error)", level: .error)
                return server.fail(reply, .internal, "the FORGET could not be made durable; the batch is unchanged: "
                                   + "\(error)")
            }
            // Every MAP of the batch read before the FORGET was logged before it, so it is counted here.
            let cells = batch.cellCount
            server.table.apply(record, foldedSequence: server.models.current.foldedSequence)
            server.stateCache.remove(batch)
            server.log.event("forget", "batch=\"\(request.batch)\" cells=\(cells)")
            server.send(reply, ForgetReply(cellsForgotten: UInt64(cells)).encodedFrame(requestID: reply.requestID))
        }
    }
}
