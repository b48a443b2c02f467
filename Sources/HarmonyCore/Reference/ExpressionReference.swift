// A reference built from expression, the recipe shared by `harmony reference` and the C interface (the Python
// package's build_reference from counts), so that both write the same model for the same input:
//   the gene space of the cells grouped by the first covariate (GeneSpaceBuilder), then the Harmony fit of the
//   reference PCs over every covariate, then the model with the gene space. When every covariate has a single
//   level there is nothing to correct: the fit runs zero iterations (the soft clustering of the uncorrected PCs,
//   as Symphony does without batch variables) and the model still maps queries.

/// A gene-space reference: the build, the fit and the model.
public struct ExpressionReference: Sendable {
    /// Genes, statistics, loadings and the reference cells' uncorrected PCs.
    public let build: GeneSpaceBuild
    /// The Harmony fit of `build.pcs`.
    public let fit: HarmonyFitResult
    /// The reference model holding the gene space.
    public let model: ReferenceModel
    /// Every covariate has a single level: the fit corrected nothing.
    public let singleLevel: Bool
    /// The parameters the fit ran with (no iterations when `singleLevel`).
    public let parameters: HarmonyParameters

    /// Builds the reference of `source` (cells in the order of `cellIDs`, covariate codes and label values per
    /// cell in that order). `phase` reports each gene-space phase as it ends, `progress` each fit iteration.
    public static func build(source: any ExpressionSource, covariates: [Covariate],
                             labels: (name: String, values: [String])?, compact: Bool,
                             settings: GeneSpaceSettings, parameters: HarmonyParameters,
                             phase: (GeneSpacePhase, String) -> Void = { _, _ in },
                             progress: ((FitProgress) -> Void)? = nil) throws -> ExpressionReference {
        guard let first = covariates.first else {
            throw HarmonyError.invalidInput("a reference needs at least one batch variable")
        }
        let singleLevel = covariates.allSatisfy { $0.levels.count == 1 }
        var parameters = parameters
        if singleLevel { parameters.maxIterations = 0 }
        let build = try GeneSpaceBuilder.build(source: source, batches: first.codes, batchCount: first.levels.count,
                                               settings: settings, progress: phase)
        let fit = try Harmony.fit(build.pcs, covariates: covariates, parameters: parameters, progress: progress)
        let model = try ReferenceModel.build(fit: fit, embedding: build.pcs, covariates: covariates,
                                             parameters: parameters, cellIds: source.cellIDs, labels: labels,
                                             compact: compact, geneSpace: build.geneSpace)
        return ExpressionReference(build: build, fit: fit, model: model, singleLevel: singleLevel,
                                   parameters: parameters)
    }
}
