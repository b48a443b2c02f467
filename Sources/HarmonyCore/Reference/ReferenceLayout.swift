// A reference's 2-D layout kept in its model file (section LAYOUT, Protocols/model-format.md), so that mapped
// query cells can be placed on the reference's view without the reference's files: the reference cells'
// positions and the UMAP settings that made them (the attraction curve's min_dist and spread, the rates and the
// seed also drive placement). A query cell's neighbours are found among the reference cells' corrected
// embedding (ReferenceCells.corrected), the space the layout was computed from, so only full (not compact)
// models keep a layout.

/// The 2-D layout of a reference's cells and the settings it was computed with.
public struct ReferenceLayout: Sendable, Equatable {
    /// Reference cells x 2 positions, in the order of the model's cells.
    public let positions: Matrix<Float>
    /// The UMAP settings of the layout (`epochs` resolved; `threads` is not kept).
    public let parameters: UMAPParameters

    /// A layout from its parts; throws `invalidInput` unless the positions are N x 2 and finite.
    public init(positions: Matrix<Float>, parameters: UMAPParameters) throws {
        guard positions.cols == 2 else {
            throw HarmonyError.invalidInput("a reference layout has 2 columns, got \(positions.cols)")
        }
        if let bad = positions.values.firstIndex(where: { !$0.isFinite }) {
            throw HarmonyError.invalidInput("the reference layout has a non-finite position at cell \(bad / 2 + 1)")
        }
        try parameters.validate(cells: max(positions.rows, parameters.neighbors + 1))
        var kept = parameters
        kept.threads = 0
        self.positions = positions
        self.parameters = kept
    }
}

extension ReferenceModel {
    /// This model with the UMAP layout of its reference cells' corrected embedding (as `harmony umap` computes it
    /// from that embedding with the same settings).
    /// - Throws: `invalidInput` for a compact model (no cells to lay out), or the layout's own errors.
    public func addingLayout(parameters: UMAPParameters) throws -> ReferenceModel {
        guard let cells else {
            throw HarmonyError.invalidInput("a compact model keeps no reference cells, so it cannot keep their layout")
        }
        let positions = try UMAP.layout(cells.corrected.converted(to: Double.self), parameters: parameters)
        var used = parameters
        used.epochs = parameters.resolvedEpochs(cells: cells.ids.count)
        return try replacingLayout(ReferenceLayout(positions: positions, parameters: used))
    }

    /// This model with `layout` (nil: without one); everything else, the model version included, is kept.
    public func replacingLayout(_ layout: ReferenceLayout?) throws -> ReferenceModel {
        try ReferenceModel(modelVersion: modelVersion, parameters: parameters, clusterMass: clusterMass,
                           clusterSums: clusterSums, levelTerms: levelTerms, covariates: covariates, labels: labels,
                           cells: cells, geneSpace: geneSpace, clusterSpread: clusterSpread, layout: layout)
    }

    /// The positions (cells x 2) of mapped query cells (their corrected embedding, `QueryMapper`'s output) on the
    /// stored layout: `LayoutPlacement.place` with the reference cells' corrected embedding and the layout's
    /// settings. `threads` runs the neighbour search (the result does not depend on it).
    /// - Throws: `invalidInput` when the model keeps no layout or the dimensions differ.
    public func placeOnLayout(_ mapped: Matrix<Float>, threads: Int = 0) throws -> Matrix<Float> {
        guard let layout, let cells else {
            throw HarmonyError.invalidInput("the model keeps no 2-D layout of its reference (build it with `harmony reference --layout`)")
        }
        var parameters = layout.parameters
        parameters.threads = threads
        return try LayoutPlacement.place(mapped, on: layout.positions, of: cells.corrected, parameters: parameters)
    }
}
