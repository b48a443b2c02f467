/// Predicted labels of query cells with a confidence in [0, 1].
public struct LabelPredictions: Sendable, Equatable {
    /// Per cell, the index into `labels`.
    public var codes: [Int32]
    /// Per cell, the vote share (kNN) or probability (cluster-based) of the predicted label.
    public var confidence: [Float]
    /// The label names (the reference's label set).
    public var labels: [String]

    /// The predicted label name of cell `i`.
    public func label(_ i: Int) -> String { labels[Int(codes[i])] }
}
