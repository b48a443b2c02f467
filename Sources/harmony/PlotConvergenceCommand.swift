import ArgumentParser
import Foundation
import HarmonyCore
import HarmonyPlot

/// `harmony plot convergence`: the objective of a fit, per iteration and per clustering round.
struct PlotConvergenceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convergence",
        abstract: "Plot a fit's objective per iteration and per clustering round.",
        discussion: """
            REPORT is the JSON that `harmony fit --report` writes. The left panel shows the objective after \
            initialisation (iteration 0) and after each Harmony iteration; the right one the objective after \
            every clustering round, with the rounds of each iteration in their own colour.

            Examples:
              harmony fit pcs.tsv.gz --meta meta.tsv.gz --vars batch --out corrected.tsv.gz --report report.json
              harmony plot convergence report.json --out convergence.png
            """)

    @Argument(help: ArgumentHelp("The report of `harmony fit --report`.", valueName: "report.json"))
    var report: String

    @Option(help: ArgumentHelp("The picture to write: .png, .svg or .pdf.", valueName: "file"))
    var out: String

    func validate() throws {
        try PlotCommand.checkOutput(out)
    }

    func run() throws {
        let history = try CommandFailure.readingInput { try Self.read(report) }
        let iterations = history.objective.indices.map(Double.init)
        let perIteration = Panel(title: "Objective per iteration", xLabel: "iteration (0 = start)", yLabel: "objective",
                                 marks: [.line(x: iterations, y: history.objective, color: .category(0), width: 1.6, dots: true)])
        var rounds = Panel(title: "Objective per clustering round", xLabel: "clustering round", yLabel: "objective")
        // objective_kmeans[0] is the objective after initialisation; entry j >= 1 follows clustering round j.
        var first = 1
        for (iteration, count) in history.clusterRounds.enumerated() where count > 0 {
            let end = min(first + count, history.objectiveKMeans.count)
            guard first < end else { break }
            rounds.marks.append(.line(x: (first..<end).map { Double($0) }, y: Array(history.objectiveKMeans[first..<end]),
                                      color: .category(iteration), width: 1.2, dots: true))
            first = end
        }
        if rounds.marks.isEmpty {
            rounds.marks.append(.line(x: history.objectiveKMeans.indices.map { Double($0) }, y: history.objectiveKMeans,
                                      color: .category(0), width: 1.2, dots: true))
        }
        rounds.legend = history.clusterRounds.indices.prefix(rounds.marks.count).map {
            LegendEntry(label: "iteration \($0 + 1)", color: .category($0))
        }
        try PlotCommand.write(Figure(title: "Harmony convergence", panels: [perIteration, rounds]), to: out)
    }

    /// The objective histories of a fit report.
    struct History {
        var objective: [Double]
        var objectiveKMeans: [Double]
        var clusterRounds: [Int]
    }

    /// Reads the arrays the plot needs from a report.
    /// - Throws: `fileFormat` naming the file when it is not a fit report.
    static func read(_ path: String) throws -> History {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw HarmonyError.fileFormat("\(path): cannot be read (\(error.localizedDescription))")
        }
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw HarmonyError.fileFormat("\(path): not a JSON object (expected the report of `harmony fit --report`)")
        }
        func numbers(_ key: String) throws -> [Double] {
            guard let array = object[key] as? [NSNumber], !array.isEmpty else {
                throw HarmonyError.fileFormat("\(path): no '\(key)' array of numbers (expected the report of `harmony fit --report`)")
            }
            return array.map(\.doubleValue)
        }
        let objective = try numbers("objective"), kmeans = try numbers("objective_kmeans")
        let rounds = (object["cluster_rounds"] as? [NSNumber])?.map(\.intValue) ?? []
        guard (objective + kmeans).allSatisfy(\.isFinite) else {
            throw HarmonyError.fileFormat("\(path): the objective holds a value that is not finite")
        }
        return History(objective: objective, objectiveKMeans: kmeans, clusterRounds: rounds)
    }
}
