// Label transfer from a reference to mapped query cells (Protocols/algorithm.md §6).
//
// kNN (full models): the k nearest reference cells in the corrected space (Euclidean, exact), majority vote;
// confidence = the winner's share of the k votes; a tie in the vote goes to the label whose nearest voter is
// closest (nearest-first), which is deterministic. Unlike R's class::knn, ties at the k-th distance are not all
// included: the k voters are the k nearest by (distance, reference index).
// Cluster-based (compact models): P(l | i) = sum_k R_ik pi_kl, one SGEMM R (n x K) pi (K x L) in Float;
// label = argmax (first on ties), confidence = max.

/// Transfers reference labels to mapped query cells; built once per model and reusable across threads.
public struct LabelTransfer: Sendable {
    /// How predictions are made.
    public enum Method: String, Sendable {
        /// k nearest reference cells in the corrected embedding.
        case nearestNeighbors = "knn"
        /// Per-cluster label frequencies weighted by the soft assignment.
        case clusters = "cluster"
    }

    /// The reference labels.
    public let labels: ReferenceLabels
    /// The method in use: kNN when the model keeps its cells, else cluster-based.
    public let method: Method
    /// Neighbours per vote.
    public let k: Int
    let index: NearestNeighborIndex?
    let labelCodes: [Int32]
    // pi (K x L) as Float, for the cluster-based product.
    let frequencies: [Float]

    /// A label transfer for `model`, or nil when the model has no labels. A full model uses kNN (the index is
    /// built here, with workers from `threadPolicy`), a compact one the cluster-based estimate; `forceClusters`
    /// picks the latter for any model.
    public init?(model: ReferenceModel, k: Int = 5, forceClusters: Bool = false,
                 threadPolicy: ThreadPolicy = .sharedPool) {
        guard let labels = model.labels else { return nil }
        self.labels = labels
        self.k = max(1, k)
        frequencies = labels.clusterFrequencies.values.map { Float($0) }
        if let cells = model.cells, !forceClusters, cells.ids.count > 0 {
            method = .nearestNeighbors
            index = NearestNeighborIndex(points: cells.corrected, threadPolicy: threadPolicy)
            labelCodes = cells.labelCodes
        } else {
            method = .clusters
            index = nil
            labelCodes = []
        }
    }

    /// Predictions for mapped cells: kNN uses `corrected` (searched on every core, workers from `threadPolicy`),
    /// the cluster-based method `assignments` (required then).
    public func predict(corrected: Matrix<Float>, assignments: Matrix<Float>?,
                        threadPolicy: ThreadPolicy = .sharedPool) throws -> LabelPredictions {
        switch method {
        case .nearestNeighbors:
            return vote(index!.search(corrected, k: k, threadPolicy: threadPolicy).indices, cells: corrected.rows)
        case .clusters:
            guard let r = assignments else {
                throw HarmonyError.invalidInput("cluster-based label transfer needs the soft assignments of the query cells")
            }
            return clusterEstimate(r)
        }
    }

    func vote(_ neighbors: [Int32], cells n: Int) -> LabelPredictions {
        let count = labels.values.count
        var codes = [Int32](repeating: 0, count: n)
        var confidence = [Float](repeating: 0, count: n)
        var votes = [Int](repeating: 0, count: count)
        for i in 0..<n {
            var voters = 0
            for j in 0..<k {
                let id = neighbors[i * k + j]
                guard id >= 0 else { continue }
                votes[Int(labelCodes[Int(id)])] += 1
                voters += 1
            }
            // Walk voters nearest first: the first label reaching the top count wins ties.
            let top = votes.max() ?? 0
            var winner = 0
            for j in 0..<k {
                let id = neighbors[i * k + j]
                guard id >= 0 else { continue }
                let l = Int(labelCodes[Int(id)])
                if votes[l] == top { winner = l; break }
            }
            codes[i] = Int32(winner)
            confidence[i] = voters > 0 ? Float(top) / Float(voters) : 0
            for j in 0..<k where neighbors[i * k + j] >= 0 { votes[Int(labelCodes[Int(neighbors[i * k + j])])] = 0 }
        }
        return LabelPredictions(codes: codes, confidence: confidence, labels: labels.values)
    }

    func clusterEstimate(_ r: Matrix<Float>) -> LabelPredictions {
        let n = r.rows, kc = r.cols, count = labels.values.count
        var codes = [Int32](repeating: 0, count: n)
        var confidence = [Float](repeating: 0, count: n)
        guard n > 0, count > 0 else {
            return LabelPredictions(codes: codes, confidence: confidence, labels: labels.values)
        }
        var p = [Float](repeating: 0, count: n * count)
        r.values.withUnsafeBufferPointer { rb in
            frequencies.withUnsafeBufferPointer { fb in
                p.withUnsafeMutableBufferPointer { pb in
                    BLAS.sgemm(m: n, n: count, k: kc, a: rb.baseAddress!, lda: kc, b: fb.baseAddress!, ldb: count,
                               c: pb.baseAddress!, ldc: count)
                    for i in 0..<n {
                        let row = pb.baseAddress! + i * count
                        var best = 0
                        for l in 1..<count where row[l] > row[best] { best = l }
                        codes[i] = Int32(best)
                        confidence[i] = row[best]
                    }
                }
            }
        }
        return LabelPredictions(codes: codes, confidence: confidence, labels: labels.values)
    }
}
