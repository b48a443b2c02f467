// MAP_EXPRESSION and MAP_EXPRESSION_TRANSIENT: cells given as sparse expression over the reference's genes.
//   1. Checks against the model: it has a gene space, the request's G is its gene count, counts only for a model
//      that normalizes counts, at most max cells per MAP. A refusal changes nothing.
//   2. Projection into the reference's PCs with the model's gene space (`GeneSpace.project`, the code offline
//      `harmony map` uses): inline for small requests, on the pool for large ones, where MAP's mapping runs.
//      Meanwhile the connection's later requests wait behind it (`AdmissionQueue`), so requests are still
//      admitted in the order they were read.
//   3. From then on the request IS a MAP (or MAP_TRANSIENT) of the projected coordinates: exactly-once by
//      (batch, id), durability, FORGET and refits apply unchanged, and the log stores the projected values. A
//      refit never changes the gene space or the loadings, so replaying those values is exact.
// A resend whose every id the batch already holds needs no projection: MAP answers it from the stored cells.
import HarmonyCore
import HarmonyProtocol

extension HarmonyServer {
    func mapExpression(_ request: ExpressionMapRequest, transient: Bool, _ reply: PendingReply) {
        let model = models.current
        if let (code, message) = refusal(of: request, model: model) { return fail(reply, code, message) }
        let type: MessageType = transient ? .mapExpressionTransient : .mapExpression
        let d = model.model.dimension
        let admissions = reply.connection.admissions
        if !transient, admissions.isEmpty, let ids = request.cellIDs, table.batches[request.batch]?.holdsAll(ids) == true {
            // MAP reads the stored values of held cells; the request's own are never used, so none are computed.
            let cells = MapRequest(batch: request.batch, cellCount: request.cellCount, dimensions: d,
                                   values: [Float](repeating: 0, count: request.cellCount * d), cellIDs: ids)
            return map(cells, reply, type: type)
        }
        let place = admissions.reserve()
        let work = { Result { try model.project(request) } }
        let admit = { [self] (projected: Result<[Float], Error>) in
            admissions.fill(place) { [self] in
                switch projected {
                case .failure(let error):
                    fail(reply, .badValue, "the cells could not be projected on the reference genes: \(error)")
                case .success(let values):
                    let cells = MapRequest(batch: request.batch, cellCount: request.cellCount, dimensions: d,
                                           values: values, cellIDs: request.cellIDs)
                    if transient { mapTransient(cells, reply, type: type) } else { map(cells, reply, type: type) }
                }
            }
        }
        if request.cellCount <= configuration.inlineCellLimit {
            admit(work())
        } else {
            loop.submit(work, completion: admit)
        }
    }

    // Step 1: nil when the model can take the request, else the error to answer.
    private func refusal(of request: ExpressionMapRequest, model: ServedModel) -> (ErrorCode, String)? {
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
        if request.cellCount > configuration.maxCellsPerMap {
            return (.tooManyCells, "\(request.cellCount) cells in one MAP_EXPRESSION; the limit is "
                    + "\(configuration.maxCellsPerMap)")
        }
        return nil
    }
}
