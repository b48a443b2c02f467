// Throughput of MAP_EXPRESSION over harmonyd's socket, durability on: a gene-space reference built from simulated
// counts (2,000 variable genes by default), several connections each keeping a window of 1000-cell requests in
// flight, every request a CSR block of query counts over the reference genes with whole-library totals. The
// server projects each request (normalize, scale, clip, loadings), maps it, logs the projected cells with
// fdatasync, labels them and computes their mapping distances (the replies are protocol version 3).
import Foundation
import HarmonyClient
import HarmonyCore
import HarmonyProtocol
import HarmonyServer
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Measures MAP_EXPRESSION throughput on an in-process harmonyd.
public enum ExpressionBenchmark {
    /// What was measured.
    public struct Report: Sendable, CustomStringConvertible {
        /// Cells acknowledged per second.
        public var cellsPerSecond: Double
        /// Reference genes G and the query's fraction of non-zero entries over them.
        public var genes: Int, density: Double
        /// Reference cells, clusters K and PCs d.
        public var referenceCells: Int, clusters: Int, dimensions: Int
        /// Whether the log was fdatasync'ed, and whether the replies carried mapping distances.
        public var durable: Bool, distances: Bool
        /// CPU microseconds of one thread per cell, timed in-process on the same requests before the socket run:
        /// the projection of the counts and the mapping distances (what a MAP_EXPRESSION adds to a MAP), and the
        /// label vote's search for the 5 nearest reference cells of the mapped cells (nil: the model has no cells).
        public var projectionMicroseconds: Double, distanceMicroseconds: Double, labelSearchMicroseconds: Double?

        /// One line with every number.
        public var description: String {
            "expression MAP throughput \(Int(cellsPerSecond)) cells/s (G \(genes), \(String(format: "%.1f", 100 * density))% "
                + "non-zeros, reference \(referenceCells) cells, K \(clusters), d \(dimensions), "
                + (durable ? "fdatasync on" : "fdatasync OFF") + ", replies with labels"
                + (distances ? " and mapping distances)" : ", without mapping distances)")
                + String(format: "\nper cell on one thread: projection %.2f us, mapping distance %.2f us",
                         projectionMicroseconds, distanceMicroseconds)
                + (labelSearchMicroseconds.map { String(format: ", kNN search of the label vote %.2f us", $0) } ?? "")
        }
    }

    /// Builds the reference (`cells` simulated cells, two thirds of them the reference), serves it in-process
    /// from a temporary directory and measures `clients` connections x `window` requests of `cellsPerRequest`
    /// cells for `seconds`.
    public static func selfBench(cells: Int = 9000, simulatedGenes: Int = 4000, genes: Int = 2000,
                                 meanUMIs: Double = 1150, settings: BenchServer.Settings = .init(), clients: Int = 4,
                                 window: Int = 8, cellsPerRequest: Int = 1000, seconds: Double = 5) throws -> Report {
        let data = try SimulatedExpressionReference(cells: cells, simulatedGenes: simulatedGenes, genes: genes,
                                                    components: 20, clusters: 100, meanUMIs: meanUMIs, seed: 1)
        let stages = try stageCosts(data, cells: cellsPerRequest)
        let directory = "/tmp/harmonyd-expression-bench-\(getpid())"
        return try BenchServer.run(model: data.model, directory: directory, settings: settings) { configuration in
            let request = Self.request(data, cells: cellsPerRequest)
            // Cells answered per client (-1: it failed), each written once by its client's thread.
            let counts = Mutex([Int](repeating: -1, count: clients))
            let start = DispatchTime.now().uptimeNanoseconds
            let end = start + UInt64(seconds * 1e9)
            DispatchQueue.concurrentPerform(iterations: clients) { c in
                guard let connection = try? HarmonyClient.connect(configuration.socketPath),
                      (try? connection.hello()) != nil else { return }
                var mine = request
                mine.batch = "bench-\(c)"
                var inFlight: [UInt32] = [], done = 0
                do {
                    while DispatchTime.now().uptimeNanoseconds < end || !inFlight.isEmpty {
                        while inFlight.count < window && DispatchTime.now().uptimeNanoseconds < end {
                            inFlight.append(try connection.send(mine))
                        }
                        _ = try connection.receive(requestID: inFlight.removeFirst(), as: ExpressionMapReply.self)
                        done += cellsPerRequest
                    }
                    counts.withLock { $0[c] = done }
                } catch {
                    counts.withLock { $0[c] = -1 }
                }
            }
            let answered = counts.withLock { $0 }
            guard !answered.contains(-1) else { throw ServerError.state("an expression benchmark client failed") }
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            let g = data.query.columnCount
            return Report(cellsPerSecond: Double(answered.reduce(0, +)) / elapsed, genes: g,
                          density: Double(data.query.values.count) / Double(data.query.rowCount * g),
                          referenceCells: data.model.cellCount, clusters: data.model.clusterCount,
                          dimensions: data.model.dimension, durable: settings.syncWAL, distances: settings.mappingDistances,
                          projectionMicroseconds: stages.projection, distanceMicroseconds: stages.distance,
                          labelSearchMicroseconds: stages.labelSearch)
        }
    }

    // Thread CPU microseconds per cell of projecting a request's cells, of their mapping distances and of the label
    // vote's search: the fastest of 15 rounds of at least 40 ms each (other processes on the machine only ever slow
    // a round down). The distances take uniform soft assignments: their cost does not depend on the values. The
    // search takes the cells as a new batch's first request maps them, against the index harmonyd builds.
    static func stageCosts(_ data: SimulatedExpressionReference,
                           cells: Int) throws -> (projection: Double, distance: Double, labelSearch: Double?) {
        guard let space = data.model.geneSpace, let spread = data.model.clusterSpread else {
            throw ServerError.state("the benchmark reference has no gene space or cluster spread")
        }
        let request = Self.request(data, cells: cells)
        let rows = request.rows
        func perCell(_ work: () throws -> Void) rethrows -> Double {
            var best = Double.infinity
            for _ in 0..<15 {
                let start = threadCPUSeconds()
                var repeats = 0
                while repeats < 1 || threadCPUSeconds() - start < 0.04 {
                    try work()
                    repeats += 1
                }
                best = min(best, (threadCPUSeconds() - start) / Double(repeats * cells) * 1e6)
            }
            return best
        }
        var projected = Matrix<Float>(rows: 0, cols: space.dimension)
        let projection = try perCell {
            projected = try space.project(rows, totals: request.totals, present: request.present, validated: true)
        }
        let k = spread.clusterCount
        let uniform = Matrix<Float>(rows: cells, cols: k, repeating: 1 / Float(k))
        let distances = MappingDistance(spread: spread)
        let distance = perCell { _ = distances.distances(cells: projected, assignments: uniform) }
        guard let reference = data.model.cells else { return (projection, distance, nil) }
        var state = QueryState(mapper: try QueryMapper(model: data.model), batchKey: "batch")
        let corrected = try state.add(cells: projected, batch: "stage-costs").corrected
        let index = NearestNeighborIndex(points: reference.corrected)
        let labelSearch = perCell { _ = index.search(corrected, k: 5, threads: 1) }
        return (projection, distance, labelSearch)
    }

    // A request of `cells` query cells (cycling through the simulated ones), without ids: every request adds cells.
    static func request(_ data: SimulatedExpressionReference, cells: Int) -> ExpressionMapRequest {
        let q = data.query
        var starts: [UInt32] = [0], columns: [UInt32] = [], values: [Float] = [], totals: [Double] = []
        for k in 0..<cells {
            let i = k % q.rowCount
            for e in q.rowStarts[i]..<q.rowStarts[i + 1] {
                columns.append(UInt32(q.columns[e]))
                values.append(q.values[e])
            }
            starts.append(UInt32(columns.count))
            totals.append(data.queryTotals[i])
        }
        return ExpressionMapRequest(batch: "bench", geneCount: q.columnCount, valueKind: .counts, totals: totals,
                                    rowStarts: starts, columns: columns, values: values)
    }
}
