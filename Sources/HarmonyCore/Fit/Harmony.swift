/// Entry point of the Harmony fit (ALGORITHM.md §2).
public enum Harmony {
    /// Fits Harmony to `embedding` (N x d, cells in rows) over one or more covariates.
    /// - Parameters:
    ///   - initialCentroids: K x d centroids to start from instead of the k-means start (warm start of a refit).
    ///   - progress: called after each iteration.
    public static func fit(_ embedding: Matrix<Float>, covariates: [Covariate], parameters: HarmonyParameters,
                           initialCentroids: Matrix<Float>? = nil,
                           progress: ((FitProgress) -> Void)? = nil) throws -> HarmonyFitResult {
        throw HarmonyError.invalidInput("the Harmony fit is being written (placeholder in the skeleton)")
    }
}
