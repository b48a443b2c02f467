/// Options of query mapping (ALGORITHM.md §4.2, §5.3).
public struct QueryMappingOptions: Sendable, Equatable {
    /// The default query ridge penalty for streaming: a pseudo-count of 20 cells.
    public static let streamingLambda: Double = 20

    /// Soft-assignment width: nil uses the model's sigma per cluster; one value applies to every cluster;
    /// otherwise one value per cluster.
    public var sigma: [Double]?
    /// Ridge penalty lambda on each new query batch's terms (the intercept is never penalised).
    ///
    /// A batch's offset in cluster k is shrunk by n_kb / (n_kb + lambda), where n_kb is the batch's soft count
    /// in k (ALGORITHM.md §5.2), so lambda reads as "cells of evidence needed before the offset is trusted
    /// halfway". Symphony hard-codes 1, which protects only the very first cells of a stream; the default 20
    /// keeps early, noisy estimates from over-correcting while a streamed batch is still small, and changes a
    /// 100-cell cluster's offset by under 20 %. Pass 1 to reproduce Symphony's `mapQuery`.
    public var lambda: Double
    /// Whether results include the full soft-assignment rows R (n x K).
    public var includeAssignments: Bool

    /// Mapping options; the defaults suit streaming (model sigma, lambda 20, no R rows).
    public init(sigma: [Double]? = nil, lambda: Double = QueryMappingOptions.streamingLambda,
                includeAssignments: Bool = false) {
        self.sigma = sigma
        self.lambda = lambda
        self.includeAssignments = includeAssignments
    }

    /// Symphony's `mapQuery` settings: sigma 0.1, lambda 1.
    public static var symphony: QueryMappingOptions { QueryMappingOptions(sigma: [0.1], lambda: 1) }
}
