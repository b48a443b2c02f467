/// The parameters a reference was fitted with, as resolved against its data.
public struct ReferenceParameters: Sendable, Equatable {
    /// The algorithm generation of the fit.
    public var preset: HarmonyPreset
    /// Sigma per cluster (K values); mapping uses it unless a sigma is given.
    public var sigma: [Double]
    /// Theta per covariate, as given to the fit.
    public var theta: [Double]
    /// The ridge penalty of the fit.
    public var lambda: RidgePenalty

    /// Parameters as stored in a model.
    public init(preset: HarmonyPreset, sigma: [Double], theta: [Double], lambda: RidgePenalty) {
        self.preset = preset
        self.sigma = sigma
        self.theta = theta
        self.lambda = lambda
    }
}
