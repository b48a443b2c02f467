import ArgumentParser
import Foundation
import HarmonyCore

/// `harmony inspect`: a summary of a reference model file (human-readable, or JSON with --json).
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Summarise a reference model file.",
        discussion: """
            Reads and fully checks a model file (checksums, sizes) and prints its format and model versions, \
            K and d, parameters, covariates and levels, labels, whether it is compact, the reference cells, the \
            gene section of a reference built from expression (gene count, normalization, the first genes; \
            --json lists every gene), whether it holds cluster spreads (for mapping distances) and the file's \
            sections. A corrupt file is reported with exit status 2.

            Examples:
              harmony inspect ref.hmod
              harmony inspect ref.hmod --json
            """)

    @Argument(help: ArgumentHelp("The model file.", valueName: "model.hmod"))
    var model: String

    @Flag(help: "Print JSON instead of text.")
    var json = false

    func run() throws {
        let (reference, file) = try CommandFailure.readingInput { () throws -> (ReferenceModel, FileFacts) in
            let bytes = try FileBytes.read(model)
            return (try ModelFile.decode(bytes, source: model),
                    FileFacts(path: model, size: bytes.count, format: try ModelFile.formatVersion(bytes, source: model),
                              sections: try ModelFile.sections(bytes, source: model)))
        }
        if json {
            let summary = Self.summary(reference, file: file)
            let data = try JSONSerialization.data(withJSONObject: summary, options: [.prettyPrinted, .sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print(Self.text(reference, file: file))
        }
    }

    /// What the summary says about the file itself.
    struct FileFacts {
        let path: String
        let size: Int
        let format: UInt32
        let sections: [ModelFile.SectionInfo]
    }

    /// Genes shown by the text summary.
    static let genesShown = 10

    /// The JSON object of the summary.
    static func summary(_ m: ReferenceModel, file: FileFacts) -> [String: Any] {
        let sections = file.sections
        var out: [String: Any] = [
            "path": file.path, "bytes": file.size, "format_version": Int(file.format),
            "model_version": Int(m.modelVersion), "clusters": m.clusterCount, "dimensions": m.dimension,
            "preset": m.parameters.preset.rawValue, "sigma": m.parameters.sigma, "theta": m.parameters.theta,
            "lambda": lambdaText(m.parameters.lambda), "compact": m.isCompact, "reference_cells": m.cellCount,
            "cluster_mass": ["min": m.clusterMass.min() ?? 0, "max": m.clusterMass.max() ?? 0,
                             "total": m.clusterMass.reduce(0, +)],
            "covariates": m.covariates.map { ["name": $0.name, "levels": $0.levels] as [String: Any] },
            "sections": sections.map { ["name": $0.name, "offset": $0.offset, "bytes": $0.length] as [String: Any] },
            "cluster_spread": m.clusterSpread != nil,
        ]
        if let labels = m.labels {
            out["labels"] = ["name": labels.name, "values": labels.values] as [String: Any]
        }
        if let space = m.geneSpace {
            var genes: [String: Any] = [
                "count": space.geneCount, "clip": space.clip,
                "genes": space.genes.map { ["id": $0.id, "name": $0.name] },
            ]
            switch space.normalization {
            case .logCounts(let target): genes["normalization"] = "log_counts"; genes["target_sum"] = target
            case .asGiven: genes["normalization"] = "as_given"
            }
            out["gene_space"] = genes
        }
        return out
    }

    /// The human-readable summary.
    static func text(_ m: ReferenceModel, file: FileFacts) -> String {
        let sigma = m.parameters.sigma
        let sigmaText = Set(sigma).count == 1 ? "\(sigma[0])" : "\(sigma.min()!) .. \(sigma.max()!) (per cluster)"
        var lines = [
            "\(file.path): Harmony reference model, format \(file.format), "
                + "model version \(m.modelVersion), \(file.size) bytes",
            "clusters K \(m.clusterCount), dimensions d \(m.dimension), preset \(m.parameters.preset.rawValue)",
            "sigma \(sigmaText), theta \(m.parameters.theta.map { "\($0)" }.joined(separator: ",")), "
                + "lambda \(lambdaText(m.parameters.lambda))",
            "reference cells \(m.cellCount)" + (m.isCompact ? " (compact: statistics only, no cells)" : " (cells stored)")
                + ", cluster mass \(m.clusterMass.min()!) .. \(m.clusterMass.max()!)",
        ]
        for cov in m.covariates {
            lines.append("covariate \(cov.name): \(cov.levels.count) levels: \(cov.levels.joined(separator: ", "))")
        }
        if let labels = m.labels {
            lines.append("labels \(labels.name): \(labels.values.count): \(labels.values.joined(separator: ", "))")
        } else {
            lines.append("labels: none")
        }
        if let space = m.geneSpace {
            let normalization: String
            switch space.normalization {
            case .logCounts(let target): normalization = "counts scaled to \(target) per cell, then log1p"
            case .asGiven: normalization = "log-normalized values used as given"
            }
            let first = space.genes.prefix(Self.genesShown).map { $0.id == $0.name ? $0.name : "\($0.name) (\($0.id))" }
            lines.append("genes \(space.geneCount): \(normalization), scaled values clipped to +-\(space.clip)")
            lines.append("  first genes: " + first.joined(separator: ", ") + (space.geneCount > first.count ? ", ..." : ""))
        } else {
            lines.append("genes: none (maps embeddings only)")
        }
        lines.append("cluster spreads: " + (m.clusterSpread != nil ? "stored (mapping distances available)"
                                                                     : "none (format 1 model: no mapping distances)"))
        lines.append("sections:")
        for s in file.sections {
            lines.append("  \(s.name.padding(toLength: 14, withPad: " ", startingAt: 0)) offset \(s.offset), \(s.length) bytes")
        }
        return lines.joined(separator: "\n")
    }

    static func lambdaText(_ lambda: RidgePenalty) -> String {
        switch lambda {
        case .dynamic(let alpha): return "auto (alpha \(alpha))"
        case .fixed(let values): return values.map { "\($0)" }.joined(separator: ",")
        }
    }
}
