/// The result of mapping a chunk of query cells, in the order the cells were given.
public struct MappedCells: Sendable, Equatable {
    /// The corrected embedding (n x d).
    public var corrected: Matrix<Float>
    /// The most likely reference cluster of each cell.
    public var topCluster: [Int32]
    /// The soft-assignment probability of that cluster.
    public var topProbability: [Float]
    /// The soft assignments R (n x K), when the options asked for them.
    public var assignments: Matrix<Float>?
    /// Per cell, Symphony's mapping distance (`MappingDistance`), when the options asked for it and the model
    /// holds its cluster spread.
    public var mappingDistance: [Double]?

    /// A mapping result from its parts.
    public init(corrected: Matrix<Float>, topCluster: [Int32], topProbability: [Float], assignments: Matrix<Float>?,
                mappingDistance: [Double]? = nil) {
        self.corrected = corrected
        self.topCluster = topCluster
        self.topProbability = topProbability
        self.assignments = assignments
        self.mappingDistance = mappingDistance
    }
}
