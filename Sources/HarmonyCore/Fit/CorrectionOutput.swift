/// The result of one correction step.
struct CorrectionOutput {
    /// Centroids after the step (K x d, unit rows; unchanged rows where a cluster did not correct).
    var centroids: [Float]
    /// Batch terms beta_kb: per level b a K x d row-major array (zero where level b was not kept in cluster k).
    var levelTerms: [[Double]]
    /// Clusters whose regression ran.
    var activeClusters: Int
}
