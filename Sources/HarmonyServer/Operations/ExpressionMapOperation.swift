// MAP_EXPRESSION and MAP_EXPRESSION_TRANSIENT: cells given as sparse expression over the reference's genes.
// Loop thread only.
//   1. Checks against the model: it has a gene space, the request's G is its gene count, counts only for a model
//      that normalizes counts, at most max cells per MAP. A refusal changes nothing.
//   2. Projection into the reference's PCs with the model's gene space (`GeneSpace.project`, the code offline
//      `harmony map` uses): inline for small requests, on the pool for large ones, where MAP's mapping runs.
//      Meanwhile the connection's later requests wait behind it (`AdmissionQueue`), so requests are still
//      admitted in the order they were read.
//   3. From then on the request IS a MAP (`MapOperation`) or MAP_TRANSIENT (`TransientMapOperation`) of the
//      projected coordinates: exactly-once by (batch, id), durability, FORGET and refits apply unchanged, and the
//      log stores the projected values. A refit never changes the gene space or the loadings, so replaying those
//      values is exact.
// A resend whose every id the batch already holds needs no projection: MAP answers it from the stored cells.
import HarmonyCore
import HarmonyProtocol

/// One MAP_EXPRESSION or MAP_EXPRESSION_TRANSIENT request, up to the MAP it becomes once projected.
struct ExpressionMapOperation {
    let server: HarmonyServer
    let request: ExpressionMapRequest
    /// MAP_EXPRESSION_TRANSIENT: the projected cells are mapped as MAP_TRANSIENT maps them.
    let transient: Bool
    let reply: PendingReply

    /// Checks the request, then projects its cells (holding the connection's later requests meanwhile) and hands
    /// them on as a MAP or MAP_TRANSIENT.
    func start() {
        let model = server.models.current
        if let (code, message) = refusal(model: model) { return server.fail(reply, code, message) }
        let d = model.model.dimension
        let admissions = reply.connection.admissions
        if !transient, admissions.isEmpty, let ids = request.cellIDs,
           server.table.batches[request.batch]?.holdsAll(ids) == true {
            // MAP reads the stored values of held cells; the request's own are never used, so none are computed.
            return mapProjected([Float](repeating: 0, count: request.cellCount * d), dimensions: d)
        }
        let place = admissions.reserve()
        let request = request
        let work = { Result { try model.project(request) } }
        server.perform(work, inline: request.cellCount <= server.configuration.inlineCellLimit) { projected in
            admissions.fill(place) {
                switch projected {
                case .failure(let error):
                    server.fail(reply, .badValue, "the cells could not be projected on the reference genes: \(error)")
                case .success(let values):
                    mapProjected(values, dimensions: d)
                }
            }
        }
    }

    // Step 3: the projected cells, as a MAP or MAP_TRANSIENT whose reply has this request's type.
    private func mapProjected(_ values: [Float], dimensions d: Int) {
        let cells = MapRequest(batch: request.batch, cellCount: request.cellCount, dimensions: d, values: values,
                               cellIDs: request.cellIDs)
        if transient {
            TransientMapOperation(server: server, request: cells, reply: reply, type: .mapExpressionTransient).start()
        } else {
            MapOperation(server: server, request: cells, reply: reply, type: .mapExpression).start()
        }
    }

    // Step 1: nil when the model can take the request, else the error to answer.
    private func refusal(model: ServedModel) -> (ErrorCode, String)? {
        guard let space = model.model.geneSpace else {
            return (.badDimension, "the reference has no gene space (it was built from an embedding, not from "
                    + "expression), so it cannot project expression; send the cells' PCs in its space with MAP")
        }
        if request.geneCount != space.geneCount {
            return (.badDimension, "the cells are given over \(request.geneCount) genes; the reference has "
                    + "\(space.geneCount) (INFO lists them, in the order the column indices use)")
        }
        if request.valueKind == .counts && model.countSpace == nil {
            return (.badValue, "the reference was built from normalized values, not counts; send the cells' "
                    + "normalized values (value kind 1)")
        }
        let limit = server.configuration.maxCellsPerMap
        if request.cellCount > limit {
            return (.tooManyCells, "\(request.cellCount) cells in one MAP_EXPRESSION; the limit is \(limit)")
        }
        return nil
    }
}
