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
            K and d, parameters, covariates and levels, labels, whether it is compact, the reference cells and \
            the file's sections. A corrupt file is reported with exit status 2.

            Examples:
              harmony inspect ref.hmod
              harmony inspect ref.hmod --json
            """)

    @Argument(help: ArgumentHelp("The model file.", valueName: "model.hmod"))
    var model: String

    @Flag(help: "Print JSON instead of text.")
    var json = false

    func run() throws {
        let (reference, sections, size) = try CommandFailure.readingInput { () throws -> (ReferenceModel, [ModelFile.SectionInfo], Int) in
            let bytes = try FileBytes.read(model)
            return (try ModelFile.decode(bytes, source: model), try ModelFile.sections(bytes, source: model), bytes.count)
        }
        let summary = Self.summary(reference, sections: sections, path: model, size: size)
        if json {
            let data = try JSONSerialization.data(withJSONObject: summary, options: [.prettyPrinted, .sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print(Self.text(reference, sections: sections, path: model, size: size))
        }
    }

    /// The JSON object of the summary.
    static func summary(_ m: ReferenceModel, sections: [ModelFile.SectionInfo], path: String, size: Int) -> [String: Any] {
        var out: [String: Any] = [
            "path": path, "bytes": size, "format_version": Int(ReferenceModel.currentFormatVersion),
            "model_version": Int(m.modelVersion), "clusters": m.clusterCount, "dimensions": m.dimension,
            "preset": m.parameters.preset.rawValue, "sigma": m.parameters.sigma, "theta": m.parameters.theta,
            "lambda": lambdaText(m.parameters.lambda), "compact": m.isCompact, "reference_cells": m.cellCount,
            "cluster_mass": ["min": m.clusterMass.min() ?? 0, "max": m.clusterMass.max() ?? 0,
                             "total": m.clusterMass.reduce(0, +)],
            "covariates": m.covariates.map { ["name": $0.name, "levels": $0.levels] as [String: Any] },
            "sections": sections.map { ["name": $0.name, "offset": $0.offset, "bytes": $0.length] as [String: Any] },
        ]
        if let labels = m.labels {
            out["labels"] = ["name": labels.name, "values": labels.values] as [String: Any]
        }
        return out
    }

    /// The human-readable summary.
    static func text(_ m: ReferenceModel, sections: [ModelFile.SectionInfo], path: String, size: Int) -> String {
        let sigma = m.parameters.sigma
        let sigmaText = Set(sigma).count == 1 ? "\(sigma[0])" : "\(sigma.min()!) .. \(sigma.max()!) (per cluster)"
        var lines = [
            "\(path): Harmony reference model, format \(ReferenceModel.currentFormatVersion), "
                + "model version \(m.modelVersion), \(size) bytes",
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
        lines.append("sections:")
        for s in sections {
            lines.append("  \(s.name.padding(toLength: 12, withPad: " ", startingAt: 0)) offset \(s.offset), \(s.length) bytes")
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
