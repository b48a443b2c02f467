/// The reference's labels: names, and per-cluster label frequencies pi_kl (Protocols/algorithm.md §6).
public struct ReferenceLabels: Sendable, Equatable {
    /// The metadata column the labels came from, e.g. `cell_type`.
    public let name: String
    /// Distinct labels sorted by bytes; code l is `values[l]`.
    public let values: [String]
    /// K x L: pi_kl = sum_j R_jk [label_j = l] / N_k (rows sum to 1 where N_k > 0).
    public let clusterFrequencies: Matrix<Double>

    /// Label statistics as stored in a model.
    public init(name: String, values: [String], clusterFrequencies: Matrix<Double>) {
        self.name = name
        self.values = values
        self.clusterFrequencies = clusterFrequencies
    }
}
