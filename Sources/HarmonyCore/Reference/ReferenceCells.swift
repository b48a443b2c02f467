/// The reference cells kept by a full (non-compact) model, for kNN label transfer and refits.
public struct ReferenceCells: Sendable, Equatable {
    /// Cell ids, in the order of the rows below.
    public let ids: [String]
    /// The original (uncorrected) embedding, N x d.
    public let original: Matrix<Float>
    /// The corrected embedding, N x d (what query cells are compared with).
    public let corrected: Matrix<Float>
    /// Per covariate of the model, one code per cell.
    public let covariateCodes: [[Int32]]
    /// Per cell, the code of its label in `ReferenceLabels.values`, or empty when the model has no labels.
    public let labelCodes: [Int32]

    /// Reference cells as stored in a model.
    public init(ids: [String], original: Matrix<Float>, corrected: Matrix<Float>, covariateCodes: [[Int32]],
                labelCodes: [Int32]) {
        self.ids = ids
        self.original = original
        self.corrected = corrected
        self.covariateCodes = covariateCodes
        self.labelCodes = labelCodes
    }
}
