import HarmonyProtocol

/// Fixed sample messages shared by the round-trip and golden-vector tests; the Python tests
/// (Samples/python/tests/test_codec.py) build the same values.
enum SampleMessages {
    static let hello = HelloRequest(minVersion: 1, maxVersion: 1, clientName: "py")
    static let helloReply = HelloReply(version: 1, serverName: "harmonyd")
    static let info = InfoRequest()
    static let infoReply = InfoReply(modelVersion: 3, dimensions: 2, clusters: 4, referenceCells: 1000,
                                     maxFrameBytes: 1 << 20, maxCellsPerMap: 500, maxConnections: 8,
                                     batches: ["b1", "b2"], labels: ["T", "B cell"])
    static let map = MapRequest(batch: "q1", cellCount: 2, dimensions: 2, values: [0.5, -1.25, 2, 0],
                                cellIDs: ["c1", "c2"])
    static let mapNoIDs = MapRequest(batch: "q1", cellCount: 1, dimensions: 3, values: [1, 2, 3])
    static let mapReply = MapReply(modelVersion: 3, cellCount: 2, dimensions: 2, corrected: [0.25, -1, 1.5, 0.125],
                                   topCluster: [1, 3], topProbability: [0.75, 0.5], predictedLabel: [0, -1],
                                   labelConfidence: [0.875, 0])
    static let stats = StatsRequest()
    static let statsReply = StatsReply(modelVersion: 3, uptimeMilliseconds: 12345, cellsMapped: 300,
                                       cellsPendingRefit: 100, requestsServed: 42, refitsDone: 1, refitsFailed: 0,
                                       connections: 2, refitRunning: true,
                                       latency: LatencyPercentiles(p50: 150, p90: 400, p99: 900, p999: 2500),
                                       batches: [BatchCount(batch: "q1", cells: 200),
                                                 BatchCount(batch: "q2", cells: 100)])
    static let refit = RefitRequest()
    static let refitReply = RefitReply(accepted: true, modelVersion: 3, message: "refit started")
    static let export = ExportRequest(batch: "q1")
    static let exportReply = ExportReply(modelVersion: 3, cellCount: 2, dimensions: 2,
                                         corrected: [0.25, -1, 1.5, 0.125], cellIDs: ["c1", "c2"])
    static let error = ErrorReply(code: .badDimension, message: "expected d = 2, got 3")
    static let forget = ForgetRequest(batch: "q1")
    static let forgetReply = ForgetReply(cellsForgotten: 2)
    static let mapTransient = TransientMapRequest(map)
    static let mapTransientReply = TransientMapReply(mapReply)
    // Version 3: the protocol document's MAP_EXPRESSION example (gene 2 absent), a transient one without ids.
    static let mapExpression = ExpressionMapRequest(batch: "q1", geneCount: 3, valueKind: .counts,
                                                    present: [true, true, false], totals: [120, 80],
                                                    rowStarts: [0, 2, 3], columns: [0, 1, 1], values: [5, 1, 2],
                                                    cellIDs: ["c1", "c2"])
    static let mapExpressionTransient = TransientExpressionMapRequest(
        ExpressionMapRequest(batch: "q2", geneCount: 3, valueKind: .logNormalized, totals: [0], rowStarts: [0, 1],
                             columns: [2], values: [0.5]))
    static let mapExpressionReply = ExpressionMapReply(withDistances([1.5, 2.5]))
    static let mapExpressionTransientReply = TransientExpressionMapReply(withDistances([1.5, 2.5]))
    static let mapReplyV3 = withDistances([-1, -1])
    static let infoReplyV3 = InfoReply(modelVersion: 3, dimensions: 2, clusters: 4, referenceCells: 1000,
                                       maxFrameBytes: 1 << 20, maxCellsPerMap: 500, maxConnections: 8,
                                       batches: ["b1", "b2"], labels: ["T", "B cell"], hasMappingDistance: true,
                                       geneSpace: InfoGeneSpace(genes: [InfoGene(id: "ENSG01", name: "CD3E"),
                                                                        InfoGene(id: "ENSG02", name: "MS4A1")],
                                                                normalization: .logCounts(targetSum: 10000)))

    static func withDistances(_ distances: [Float]) -> MapReply {
        var reply = mapReply
        reply.mappingDistance = distances
        return reply
    }

    /// Every sample as (vector file name, request id, message, header version): the messages of version 1 in
    /// version-1 frames, those added by version 2 in version-2 frames, those of version 3 (and the layouts that
    /// grew in it) in version-3 frames. The version-3 vectors were written from the protocol document with
    /// Python's struct module, not by this codec.
    static let all: [(name: String, requestID: UInt32, message: Message, version: UInt8)] = [
        ("hello", 1, .hello(hello), 1), ("hello_reply", 1, .helloReply(helloReply), 1),
        ("info", 2, .info(info), 1), ("info_reply", 2, .infoReply(infoReply), 1),
        ("map", 7, .map(map), 1), ("map_no_ids", 8, .map(mapNoIDs), 1), ("map_reply", 7, .mapReply(mapReply), 1),
        ("stats", 9, .stats(stats), 1), ("stats_reply", 9, .statsReply(statsReply), 1),
        ("refit", 10, .refit(refit), 1), ("refit_reply", 10, .refitReply(refitReply), 1),
        ("export", 11, .export(export), 1), ("export_reply", 11, .exportReply(exportReply), 1),
        ("error", 12, .error(error), 1),
        ("forget", 13, .forget(forget), 2), ("forget_reply", 13, .forgetReply(forgetReply), 2),
        ("map_transient", 14, .mapTransient(mapTransient), 2),
        ("map_transient_reply", 14, .mapTransientReply(mapTransientReply), 2),
        ("map_expression", 21, .mapExpression(mapExpression), 3),
        ("map_expression_transient", 22, .mapExpressionTransient(mapExpressionTransient), 3),
        ("map_expression_reply", 21, .mapExpressionReply(mapExpressionReply), 3),
        ("map_expression_transient_reply", 22, .mapExpressionTransientReply(mapExpressionTransientReply), 3),
        ("map_reply_v3", 7, .mapReply(mapReplyV3), 3), ("info_reply_v3", 2, .infoReply(infoReplyV3), 3),
    ]
}
