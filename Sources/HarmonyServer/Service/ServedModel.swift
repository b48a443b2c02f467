// The model being served, with what mapping needs precomputed. Immutable and Sendable: pool jobs capture
// it, so a refit can swap in a new `ServedModel` while jobs that started on the old one finish on it.
import HarmonyCore

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
    // Per cluster, the most frequent reference label and its frequency pi_kl (ALGORITHM.md §4.3).
    private let clusterLabel: [Int32]
    private let clusterLabelShare: [Float]

    /// The version replies carry.
    var version: UInt64 { model.modelVersion }

    /// Prepares `model` for mapping with the query ridge `queryLambda` (nil: the streaming default).
    init(model: ReferenceModel, queryLambda: Double?, foldedSequence: UInt64) throws {
        self.model = model
        var options = QueryMappingOptions()
        if let queryLambda { options.lambda = queryLambda }
        self.mapper = try QueryMapper(model: model, options: options)
        self.batchKey = model.covariates.first?.name ?? "batch"
        self.foldedSequence = foldedSequence
        var label = [Int32](repeating: -1, count: model.clusterCount)
        var share = [Float](repeating: 0, count: model.clusterCount)
        if let labels = model.labels {
            let frequencies = labels.clusterFrequencies
            for k in 0..<frequencies.rows {
                for l in 0..<frequencies.cols where Float(frequencies[k, l]) > share[k] {
                    share[k] = Float(frequencies[k, l])
                    label[k] = Int32(l)
                }
            }
        }
        clusterLabel = label
        clusterLabelShare = share
    }

    /// A fresh streaming state for one query batch.
    func newState() -> QueryState { QueryState(mapper: mapper, batchKey: batchKey) }

    /// Label names in code order (empty without labels).
    var labelNames: [String] { model.labels?.values ?? [] }

    /// The cluster-based label prediction for cells whose top cluster is `cluster` with probability `p`:
    /// the cluster's most frequent reference label, confidence p * pi_kl (the label's share of that cluster).
    func predictedLabel(cluster: Int32, probability: Float) -> (label: Int32, confidence: Float) {
        let k = Int(cluster)
        guard k >= 0, k < clusterLabel.count, clusterLabel[k] >= 0 else { return (-1, 0) }
        return (clusterLabel[k], probability * clusterLabelShare[k])
    }
}
