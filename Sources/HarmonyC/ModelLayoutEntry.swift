import CHarmony
import HarmonyCore

// A model's 2-D layout through the C interface (harmony.h): computing and attaching one, reading it, and placing
// mapped query cells on it.

/// A new handle for `model` with the UMAP layout of its reference cells (`harmony reference --layout`).
@_cdecl("harmony_model_add_layout")
public func harmonyModelAddLayout(_ handle: OpaquePointer?, _ params: UnsafePointer<harmony_umap_params>?,
                                  _ out: UnsafeMutablePointer<OpaquePointer?>?,
                                  _ err: UnsafeMutablePointer<CChar>?, _ errLength: Int) -> Int32 {
    CallStatus.run(err: err, length: errLength) {
        guard let params, let out else { throw HarmonyError.invalidInput("harmony_model_add_layout needs parameters and a handle to fill") }
        let model = try ModelHandle.model(handle)
        out.pointee = ModelHandle.retain(try model.addingLayout(parameters: try UMAPSettings.parameters(params.pointee)))
    }
}

/// Copies the model's layout (cells x 2 float32) into `positions`.
@_cdecl("harmony_model_layout_positions")
public func harmonyModelLayoutPositions(_ handle: OpaquePointer?, _ positions: UnsafeMutablePointer<Float>?,
                                        _ err: UnsafeMutablePointer<CChar>?, _ errLength: Int) -> Int32 {
    CallStatus.run(err: err, length: errLength) {
        guard let positions else { throw HarmonyError.invalidInput("harmony_model_layout_positions needs an output buffer") }
        guard let layout = try ModelHandle.model(handle).layout else {
            throw HarmonyError.invalidInput("the model keeps no 2-D layout of its reference (build it with a layout)")
        }
        LayoutOutput.write(layout.positions, to: positions)
    }
}

/// Places mapped query cells (n x d, the corrected embedding of a mapping) on the model's layout.
@_cdecl("harmony_model_place")
public func harmonyModelPlace(_ handle: OpaquePointer?, _ mapped: UnsafeRawPointer?, _ dtype: Int32, _ n: Int64,
                              _ d: Int64, _ threads: Int64, _ placed: UnsafeMutablePointer<Float>?,
                              _ err: UnsafeMutablePointer<CChar>?, _ errLength: Int) -> Int32 {
    CallStatus.run(err: err, length: errLength) {
        guard let placed else { throw HarmonyError.invalidInput("harmony_model_place needs an output buffer") }
        guard threads >= 0 else { throw HarmonyError.invalidParameter("threads must be 0 (every core) or positive (got \(threads))") }
        let model = try ModelHandle.model(handle)
        let cells = try CInput.matrix(mapped, dtype: dtype, rows: n, cols: d, what: "mapped query embedding")
        try CInput.requireFinite(cells, what: "mapped query embedding")
        LayoutOutput.write(try model.placeOnLayout(cells, threads: Int(threads)), to: placed)
    }
}
