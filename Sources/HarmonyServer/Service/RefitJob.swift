// A full refit: Harmony on the reference cells (original embedding and covariate codes stored in the model)
// plus the accumulated query cells (each query batch becomes a new level of every covariate), warm-started
// from the current centroids; the result becomes the next model version and is persisted before it is served.
//
// Thread contract: `run` executes on a background thread of its own (`BackgroundThread`, in SCHED_IDLE)
// and touches only its input (immutable values); the server swaps the returned model in on the loop thread.
// Every parallel step of the refit (the fit, the model build, label predictions, the new model's kNN index)
// asks for workers of its own (`RefitJob.threadPolicy`), which inherit SCHED_IDLE from the refit's thread.
import Foundation
import HarmonyCore
import Synchronization

/// The inputs and the work of one background refit.
struct RefitJob: Sendable {
    /// Query cells to fold in: batch label, cell ids and values of one accepted MAP request.
    struct Cells: Sendable {
        var batch: String
        var sequence: UInt64
        var ids: [String]?
        var values: [Float]
        var count: Int
    }

    /// The model being served when the refit started.
    let current: ServedModel
    /// The accumulated cells, in log order.
    let cells: [Cells]
    /// The last log sequence folded in.
    let foldedSequence: UInt64
    /// Where the new model is persisted.
    let store: ModelStore
    /// Threads the fit may use.
    let threads: Int

    /// Where the refit's workers come from: threads of its own, which inherit SCHED_IDLE from the refit's
    /// thread; the shared pool's threads would run the work at normal priority.
    static let threadPolicy = ThreadPolicy.ownThreads

    /// Fits, builds and persists the next model; returns it ready to serve, with its file path. Once `cancel` is
    /// set the fit stops before its next iteration and nothing is persisted (`FitCancelled` is thrown).
    func run(queryLambda: Double?, clusterLabels: Bool, mappingDistances: Bool = true,
             cancel: CancellationFlag = CancellationFlag()) throws -> (served: ServedModel, path: String) {
        let old = current.model
        guard let reference = old.cells else {
            throw ServerError.state("the model is compact (it keeps no reference cells), so it cannot be refitted")
        }
        let d = old.dimension
        let n = reference.ids.count + cells.reduce(0) { $0 + $1.count }

        // MARK: Embedding and cell ids: reference cells first, then query cells in log order.
        var values = reference.original.values
        values.reserveCapacity(n * d)
        var ids = reference.ids
        ids.reserveCapacity(n)
        for part in cells {
            values.append(contentsOf: part.values)
            ids.append(contentsOf: part.ids ?? (0..<part.count).map { "\(part.batch)#\(part.sequence).\($0)" })
        }
        let embedding = Matrix(rows: n, cols: d, values: values)

        // MARK: Covariates: the reference's labels, and each query batch as a level of its own.
        var covariates: [Covariate] = []
        for (c, covariate) in old.covariates.enumerated() {
            var labels = reference.covariateCodes[c].map { covariate.levels[Int($0)] }
            labels.reserveCapacity(n)
            for part in cells { labels.append(contentsOf: repeatElement(part.batch, count: part.count)) }
            covariates.append(Covariate(name: covariate.name, labels: labels))
        }

        // MARK: Labels: the reference's own, and the current model's prediction for query cells.
        var labels: (name: String, values: [String])?
        if let known = old.labels {
            var names = reference.labelCodes.map { known.values[Int($0)] }
            names.reserveCapacity(n)
            for part in cells {
                let mapped = try current.newState().correct(cells: Matrix(rows: part.count, cols: d, values: part.values),
                                                            batches: [String](repeating: part.batch, count: part.count))
                names.append(contentsOf: try current.predictLabels(mapped, threadPolicy: Self.threadPolicy).codes
                    .map { known.values[Int($0)] })
            }
            labels = (known.name, names)
        }

        // MARK: Fit, warm-started from the current centroids, with the model's parameters.
        var parameters = HarmonyParameters(preset: old.parameters.preset)
        parameters.theta = old.parameters.theta
        parameters.sigma = old.parameters.sigma
        parameters.lambda = old.parameters.lambda
        parameters.nClusters = old.clusterCount
        parameters.threads = threads
        parameters.threadPolicy = Self.threadPolicy
        let fit = try Harmony.fit(embedding, covariates: covariates, parameters: parameters,
                                  initialCentroids: old.centroids, shouldStop: { cancel.isSet })
        var model = try ReferenceModel.build(fit: fit, embedding: embedding, covariates: covariates,
                                             parameters: parameters, cellIds: ids, labels: labels, compact: false,
                                             geneSpace: old.geneSpace)
        model.modelVersion = old.modelVersion + 1
        if cancel.isSet { throw FitCancelled(iterations: fit.iterations) }
        let path = try store.persist(model, foldedSequence: foldedSequence, previousVersion: old.modelVersion)
        return (try ServedModel(model: model, queryLambda: queryLambda, foldedSequence: foldedSequence,
                                clusterLabels: clusterLabels, mappingDistances: mappingDistances,
                                threadPolicy: Self.threadPolicy), path)
    }
}

/// A flag one thread sets and another polls (a refit's cancellation).
final class CancellationFlag: Sendable {
    private let value = Mutex(false)

    /// Whether `set()` was called.
    var isSet: Bool { value.withLock { $0 } }

    /// Sets the flag (from any thread).
    func set() { value.withLock { $0 = true } }
}
