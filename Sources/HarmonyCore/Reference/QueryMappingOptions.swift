/// Options of query mapping (Protocols/algorithm.md §5.2, §5.3).
public struct QueryMappingOptions: Sendable, Equatable {
    /// The default query ridge penalty: a pseudo-count of one cell, Symphony's value. `harmony map` and
    /// harmonyd default to it too, so that a streamed batch's final corrections equal the offline mapping.
    public static let defaultLambda: Double = 1

    /// Soft-assignment width: nil uses the model's sigma per cluster; one value applies to every cluster;
    /// otherwise one value per cluster.
    public var sigma: [Double]?
    /// Ridge penalty lambda on each new query batch's terms (the intercept is never penalised).
    ///
    /// A batch's offset in cluster k is shrunk by n_kb / (n_kb + lambda), where n_kb is the batch's soft count
    /// in k (Protocols/algorithm.md §5.2), so lambda reads as "cells of evidence needed before the offset is trusted
    /// halfway". The default 1 shrinks only a stream's very first cells. A larger pseudo-count (10-50, §5.3)
    /// damps the first answers of a stream, but it also under-corrects every small cluster for good: with 20,
    /// the reference/query mixing of the end-to-end tests (iLISI over role) drops from about 1.8 to 1.55, past
    /// the 0.1 the issue allows below Symphony's.
    public var lambda: Double
    /// Whether results include the full soft-assignment rows R (n x K).
    public var includeAssignments: Bool
    /// Whether results include each cell's mapping distance (needs a model with a cluster spread, format 2;
    /// it costs about 2 K d^2 flops a cell, far more than the mapping itself at K 100, d 20).
    public var includeMappingDistance: Bool

    /// Mapping options; by default the model's sigma, lambda 1, no R rows and no mapping distances.
    public init(sigma: [Double]? = nil, lambda: Double = QueryMappingOptions.defaultLambda,
                includeAssignments: Bool = false, includeMappingDistance: Bool = false) {
        self.sigma = sigma
        self.lambda = lambda
        self.includeAssignments = includeAssignments
        self.includeMappingDistance = includeMappingDistance
    }

    /// Symphony's `mapQuery` settings: sigma 0.1, lambda 1.
    public static var symphony: QueryMappingOptions { QueryMappingOptions(sigma: [0.1], lambda: 1) }
}
