import CHarmony
import HarmonyCore

// harmony_umap, harmony_layout_place and harmony_lisi: 2-D layouts and LISI over caller buffers (harmony.h).
// They compute what `harmony umap`, `harmony plot mapping` and `harmony lisi` compute, on the same numbers.

/// Fills `params` with `harmony umap`'s defaults.
@_cdecl("harmony_umap_params_default")
public func harmonyUmapParamsDefault(_ params: UnsafeMutablePointer<harmony_umap_params>?) {
    guard let params else { return }
    let p = UMAPParameters()
    var c = harmony_umap_params()
    c.neighbors = Int64(p.neighbors)
    c.min_dist = p.minDist
    c.spread = p.spread
    c.epochs = Int64(p.epochs ?? 0)
    c.learning_rate = p.learningRate
    c.negative_sample_rate = Int64(p.negativeSampleRate)
    c.repulsion = p.repulsion
    c.seed = p.seed
    c.threads = Int64(p.threads)
    params.pointee = c
}

/// The UMAP layout (n x 2 float32 into `layout`) of an n x d embedding; see harmony.h.
@_cdecl("harmony_umap")
public func harmonyUmap(_ embedding: UnsafeRawPointer?, _ dtype: Int32, _ n: Int64, _ d: Int64,
                        _ params: UnsafePointer<harmony_umap_params>?, _ layout: UnsafeMutablePointer<Float>?,
                        _ err: UnsafeMutablePointer<CChar>?, _ errLength: Int) -> Int32 {
    CallStatus.run(err: err, length: errLength) {
        guard let params, let layout else {
            throw HarmonyError.invalidInput("harmony_umap needs parameters and an output buffer for the layout")
        }
        let points = try CInput.matrix(embedding, dtype: dtype, rows: n, cols: d, what: "embedding", as: Double.self)
        try CInput.requireFinite(points, what: "embedding")
        let result = try UMAP.layout(points, parameters: try UMAPSettings.parameters(params.pointee))
        LayoutOutput.write(result, to: layout)
    }
}

/// Places query cells on a reference layout (umap-learn's transform); see harmony.h.
@_cdecl("harmony_layout_place")
public func harmonyLayoutPlace(_ reference: UnsafeRawPointer?, _ referenceDtype: Int32, _ referenceCount: Int64,
                               _ d: Int64, _ referenceLayout: UnsafePointer<Float>?,
                               _ query: UnsafeRawPointer?, _ queryDtype: Int32, _ queryCount: Int64,
                               _ params: UnsafePointer<harmony_umap_params>?, _ epochs: Int64,
                               _ placed: UnsafeMutablePointer<Float>?,
                               _ err: UnsafeMutablePointer<CChar>?, _ errLength: Int) -> Int32 {
    CallStatus.run(err: err, length: errLength) {
        guard let params, let placed, let referenceLayout else {
            throw HarmonyError.invalidInput("harmony_layout_place needs the reference layout, parameters and an output buffer")
        }
        let ref = try CInput.matrix(reference, dtype: referenceDtype, rows: referenceCount, cols: d,
                                    what: "reference embedding")
        try CInput.requireFinite(ref, what: "reference embedding")
        let queries = try CInput.matrix(query, dtype: queryDtype, rows: queryCount, cols: d, what: "query embedding")
        try CInput.requireFinite(queries, what: "query embedding")
        let layout = try CInput.matrix(UnsafeRawPointer(referenceLayout), dtype: Int32(HARMONY_FLOAT32.rawValue),
                                       rows: referenceCount, cols: 2, what: "reference layout")
        try CInput.requireFinite(layout, what: "reference layout")
        let result = try LayoutPlacement.place(queries, on: layout, of: ref,
                                               parameters: try UMAPSettings.parameters(params.pointee),
                                               epochs: epochs < 0 ? nil : Int(epochs))
        LayoutOutput.write(result, to: placed)
    }
}

/// Per-cell LISI of an embedding over label sets; see harmony.h.
@_cdecl("harmony_lisi")
public func harmonyLisi(_ embedding: UnsafeRawPointer?, _ dtype: Int32, _ n: Int64, _ d: Int64,
                        _ labels: UnsafePointer<harmony_covariate>?, _ labelSetCount: Int64, _ perplexity: Double,
                        _ threads: Int64, _ scores: UnsafeMutablePointer<Double>?,
                        _ err: UnsafeMutablePointer<CChar>?, _ errLength: Int) -> Int32 {
    CallStatus.run(err: err, length: errLength) {
        guard let scores else { throw HarmonyError.invalidInput("harmony_lisi needs an output buffer for the scores") }
        guard let labels, labelSetCount >= 1 else {
            throw HarmonyError.invalidInput("LISI needs at least one label set (e.g. the batch)")
        }
        guard threads >= 0 else { throw HarmonyError.invalidParameter("threads must be 0 (every core) or positive (got \(threads))") }
        let points = try CInput.matrix(embedding, dtype: dtype, rows: n, cols: d, what: "embedding", as: Double.self)
        try CInput.requireFinite(points, what: "embedding")
        let sets = try (0..<Int(labelSetCount)).map {
            try CInput.covariate(labels[$0], cells: Int(n), index: $0).codes
        }
        let result = try LISI.perCell(points, labelSets: sets, perplexity: perplexity, threads: Int(threads))
        for (s, column) in result.enumerated() {
            for (i, value) in column.enumerated() { scores[s * Int(n) + i] = value }
        }
    }
}

/// The C UMAP settings as `UMAPParameters`, checked where C cannot be.
enum UMAPSettings {
    static func parameters(_ c: harmony_umap_params) throws -> UMAPParameters {
        guard c.epochs >= 0, c.threads >= 0, c.neighbors >= 1, c.negative_sample_rate >= 0 else {
            throw HarmonyError.invalidParameter("the UMAP neighbours must be positive and the epochs, threads and negative sample rate non-negative")
        }
        guard c.neighbors <= Int64(Int32.max) else {
            throw HarmonyError.invalidParameter("the UMAP neighbours (\(c.neighbors)) are too many")
        }
        var p = UMAPParameters()
        p.neighbors = Int(c.neighbors)
        p.minDist = c.min_dist
        p.spread = c.spread
        p.epochs = c.epochs == 0 ? nil : Int(c.epochs)
        p.learningRate = c.learning_rate
        p.negativeSampleRate = Int(c.negative_sample_rate)
        p.repulsion = c.repulsion
        p.seed = c.seed
        p.threads = Int(c.threads)
        return p
    }
}

/// Copying a finished n x 2 layout into the caller's buffer (only once nothing can fail any more).
enum LayoutOutput {
    static func write(_ layout: Matrix<Float>, to buffer: UnsafeMutablePointer<Float>) {
        for (i, value) in layout.values.enumerated() { buffer[i] = value }
    }
}
