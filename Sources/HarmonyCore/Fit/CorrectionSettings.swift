/// How a correction chooses its unknowns and penalties.
struct CorrectionSettings: Sendable {
    /// Ridge penalty rule.
    var penalty: RidgePenalty
    /// Harmony2 level dropping: a level takes part in cluster k only if O_kb / N_b > cutoff, and a covariate
    /// only if at least two of its levels do. False (Harmony 1.x) keeps every level with cells.
    var dropLevels: Bool
    /// The cutoff of `dropLevels`.
    var cutoff: Double
    /// Harmony2: the new centroid is the normalised ridge intercept.
    var updateCentroids: Bool
}
