/// One gene (feature) of an expression matrix: a stable id (Ensembl, where the source has one) and a symbol.
/// Sources without ids repeat the symbol as the id.
public struct Gene: Sendable, Equatable, Hashable {
    /// The stable identifier, e.g. `ENSG00000187608`.
    public var id: String
    /// The symbol, e.g. `ISG15`.
    public var name: String

    /// A gene with an id and a symbol.
    public init(id: String, name: String) {
        self.id = id
        self.name = name
    }
}
