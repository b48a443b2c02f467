/// One covariate of the reference: its metadata column and level labels (code b is `levels[b]`).
public struct ReferenceCovariate: Sendable, Equatable {
    /// The metadata column name, e.g. `donor`.
    public let name: String
    /// Level labels in code order (sorted by bytes, as `Covariate`).
    public let levels: [String]

    /// A covariate description.
    public init(name: String, levels: [String]) {
        self.name = name
        self.levels = levels
    }
}
