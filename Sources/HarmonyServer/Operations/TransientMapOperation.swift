// MAP_TRANSIENT: cells mapped as the batch's next MAP would map them, from the current model and the batch's
// statistics, then forgotten: nothing is logged or kept. Loop thread only.
//   1. The checks MAP makes on the cells (not its caps: nothing is held).
//   2. A known batch: in the batch's queue, so that the mapping sees every MAP read before it, on the batch's
//      borrowed state (`MapOperation.map`, which leaves the batch's cells as they were). An unknown batch stays
//      unknown: a fresh state, not registered.
//   3. Reply (and, for a known batch, `done()`).
import HarmonyCore
import HarmonyProtocol

/// One MAP_TRANSIENT request (or a MAP_EXPRESSION_TRANSIENT once projected), from its checks to its reply.
struct TransientMapOperation {
    let server: HarmonyServer
    let request: MapRequest
    let reply: PendingReply
    /// The reply's type: `.mapTransient`, or `.mapExpressionTransient` for projected expression.
    let type: MessageType

    /// Checks the cells and maps them, now or in the batch's queue.
    func start() {
        if let (code, message) = MapOperation.refusal(of: request, server: server) {
            return server.fail(reply, code, message)
        }
        let input = BatchMapping.MapInput(values: request.values, count: request.cellCount,
                                          newRows: Array(0..<request.cellCount), duplicateRows: [], duplicateValues: [],
                                          request: type, version: reply.version)
        if let batch = server.table.batches[request.batch] {
            let server = server, reply = reply
            batch.enqueue { done in MapOperation.map(input, on: batch, server: server, reply: reply, done: done) }
            return
        }
        let model = server.models.current
        let batch = request.batch, requestID = reply.requestID
        let work = { BatchMapping.map(input, batch: batch, requestID: requestID, state: nil, builtFor: 0, history: [],
                                      historyCells: 0, model: model) }
        server.perform(work, inline: input.count <= server.configuration.inlineCellLimit) { [server, reply] outcome in
            server.send(reply, outcome.frame)
        }
    }
}
