// The model being served, with what mapping needs precomputed. Immutable and Sendable: pool jobs capture
// it, so a refit can swap in a new `ServedModel` while jobs that started on the old one finish on it.
import HarmonyCore
import HarmonyProtocol

/// A reference model ready to map with.
struct ServedModel: Sendable {
    /// The reference.
    let model: ReferenceModel
    /// Its mapper (sigma and query lambda resolved).
    let mapper: QueryMapper
    /// The covariate whose levels are batches (the model's first covariate); query batch labels are its levels.
    let batchKey: String
    /// Write-ahead-log records with a sequence up to this one are folded into the model (0: none).
    let foldedSequence: UInt64
    /// Label transfer for MAP replies, nil without labels: the same as offline `harmony map`, a vote among the 5
    /// nearest reference cells in the corrected space when the model keeps its cells, the cluster-based estimate
    /// P(l | i) = sum_k R_ik pi_kl for a compact model or when asked for. The vote costs far more than the
    /// mapping (about 60 us a cell against a 40k-cell reference, 1 us for the mapping), so it bounds throughput.
    let labelTransfer: LabelTransfer?
    /// Symphony's per-cell mapping distance against the model's cluster spread, nil when the model keeps none.
    /// Computed only for replies of protocol version 3 (older replies have no field for it); it needs the soft
    /// assignments R, so the mapper returns them whenever the model has a spread.
    let distance: MappingDistance?
    /// The model's gene space for each kind of MAP_EXPRESSION value, nil when the model has no genes: counts are
    /// normalized as the model recorded, log-normalized values are used as given.
    let countSpace: GeneSpace?
    let normalizedSpace: GeneSpace?

    /// The version replies carry.
    var version: UInt64 { model.modelVersion }

    /// The query ridge lambda when none is configured: the library's and offline `harmony map`'s default, so
    /// that EXPORT after a whole batch streamed in equals `harmony map` of that batch with default flags.
    static let defaultQueryLambda = QueryMappingOptions.defaultLambda

    /// Prepares `model` for mapping with the query ridge `queryLambda` (nil: `defaultQueryLambda`);
    /// `clusterLabels` picks the cluster-based label estimate even when the model keeps its cells (as
    /// `harmony map --cluster-labels` does); `mappingDistances` false leaves them out of replies even when the
    /// model keeps its cluster spreads (INFO then says there are none). `threadPolicy` says where the workers
    /// building the label transfer's index come from (`.ownThreads` on a refit's SCHED_IDLE thread).
    init(model: ReferenceModel, queryLambda: Double?, foldedSequence: UInt64, clusterLabels: Bool = false,
         mappingDistances: Bool = true, threadPolicy: ThreadPolicy = .sharedPool) throws {
        self.model = model
        var options = QueryMappingOptions()
        options.lambda = queryLambda ?? ServedModel.defaultQueryLambda
        labelTransfer = LabelTransfer(model: model, forceClusters: clusterLabels, threadPolicy: threadPolicy)
        let spread = mappingDistances ? model.clusterSpread : nil
        options.includeAssignments = labelTransfer?.method == .clusters || spread != nil
        self.mapper = try QueryMapper(model: model, options: options)
        distance = spread.map { MappingDistance(spread: $0) }
        if let space = model.geneSpace {
            countSpace = space.normalization == .asGiven ? nil : space
            normalizedSpace = try GeneSpace(genes: space.genes, means: space.means,
                                            standardDeviations: space.standardDeviations, loadings: space.loadings,
                                            normalization: .asGiven, clip: space.clip,
                                            projectionOffset: space.projectionOffset)
        } else {
            countSpace = nil
            normalizedSpace = nil
        }
        self.batchKey = model.covariates.first?.name ?? "batch"
        self.foldedSequence = foldedSequence
    }

    /// A fresh streaming state for one query batch.
    func newState() -> QueryState { QueryState(mapper: mapper, batchKey: batchKey) }

    /// INFO's gene section (version 3), nil without genes.
    var infoGeneSpace: InfoGeneSpace? {
        guard let space = model.geneSpace else { return nil }
        let normalization: InfoNormalization
        switch space.normalization {
        case .logCounts(let targetSum): normalization = .logCounts(targetSum: targetSum)
        case .asGiven: normalization = .asGiven
        }
        return InfoGeneSpace(genes: space.genes.map { InfoGene(id: $0.id, name: $0.name) }, normalization: normalization)
    }

    /// The uncorrected PCs (n x d, row-major) of a MAP_EXPRESSION's cells, projected exactly as offline
    /// `harmony map` projects expression (`GeneSpace.project`); the request has passed `validate()`.
    func project(_ request: ExpressionMapRequest) throws -> [Float] {
        guard let space = request.valueKind == .counts ? countSpace : normalizedSpace else {
            throw HarmonyError.invalidInput("the reference has no gene space for these values")
        }
        // `ExpressionMapRequest.validate()` has checked every value against the value kind and the present genes.
        return try space.project(request.rows, totals: request.totals, present: request.present, validated: true).values
    }

    /// Label names in code order (empty without labels).
    var labelNames: [String] { model.labels?.values ?? [] }

    /// Predicted label codes and confidences of mapped cells (-1 and 0 when the model has no labels), searched
    /// with workers from `threadPolicy`.
    func predictLabels(_ mapped: MappedCells,
                       threadPolicy: ThreadPolicy = .sharedPool) throws -> (codes: [Int32], confidence: [Float]) {
        let n = mapped.corrected.rows
        guard let labelTransfer else {
            return ([Int32](repeating: -1, count: n), [Float](repeating: 0, count: n))
        }
        let predictions = try labelTransfer.predict(corrected: mapped.corrected, assignments: mapped.assignments,
                                                    threadPolicy: threadPolicy)
        return (predictions.codes, predictions.confidence)
    }
}

extension ExpressionMapRequest {
    /// The request's cells as the CSR that `GeneSpace.project` reads (the request has passed `validate()`).
    public var rows: SparseRows {
        SparseRows(unchecked: geneCount, rowStarts: rowStarts.map { Int($0) },
                   columns: columns.map { Int32(bitPattern: $0) }, values: values)
    }
}
