import CHarmony
#if canImport(Glibc)
import Glibc
#endif
import HarmonyCore

// Reference model handles: load, save, inspect, free (harmony.h). A handle owns an immutable ReferenceModel.

/// The object behind a `harmony_model *`.
final class ModelHandle: Sendable {
    let model: ReferenceModel

    init(_ model: ReferenceModel) { self.model = model }

    /// A new +1 handle for C.
    static func retain(_ model: ReferenceModel) -> OpaquePointer {
        OpaquePointer(Unmanaged.passRetained(ModelHandle(model)).toOpaque())
    }

    /// The model behind a handle, or an error for NULL.
    static func model(_ handle: OpaquePointer?) throws -> ReferenceModel {
        guard let handle else { throw HarmonyError.invalidInput("the model handle is NULL") }
        return Unmanaged<ModelHandle>.fromOpaque(UnsafeRawPointer(handle)).takeUnretainedValue().model
    }
}

/// Reads a `.hmod` file into a new handle.
@_cdecl("harmony_model_load")
public func harmonyModelLoad(_ path: UnsafePointer<CChar>?, _ model: UnsafeMutablePointer<OpaquePointer?>?,
                             _ err: UnsafeMutablePointer<CChar>?, _ errLength: Int) -> Int32 {
    CallStatus.run(err: err, length: errLength) {
        guard let path, let model else { throw HarmonyError.invalidInput("harmony_model_load needs a path and a handle to fill") }
        model.pointee = ModelHandle.retain(try ModelFile.read(String(cString: path)))
    }
}

/// Writes the model atomically to `path`.
@_cdecl("harmony_model_save")
public func harmonyModelSave(_ model: OpaquePointer?, _ path: UnsafePointer<CChar>?,
                             _ err: UnsafeMutablePointer<CChar>?, _ errLength: Int) -> Int32 {
    CallStatus.run(err: err, length: errLength) {
        guard let path else { throw HarmonyError.invalidInput("harmony_model_save needs a path") }
        try ModelFile.write(try ModelHandle.model(model), to: String(cString: path))
    }
}

/// Releases a handle (NULL is ignored).
@_cdecl("harmony_model_free")
public func harmonyModelFree(_ model: OpaquePointer?) {
    guard let model else { return }
    Unmanaged<ModelHandle>.fromOpaque(UnsafeRawPointer(model)).release()
}

/// The model's sizes.
@_cdecl("harmony_model_info_get")
public func harmonyModelInfoGet(_ handle: OpaquePointer?, _ info: UnsafeMutablePointer<harmony_model_info>?) {
    guard let info, let model = try? ModelHandle.model(handle) else { return }
    var out = harmony_model_info()
    out.clusters = Int64(model.clusterCount)
    out.dimensions = Int64(model.dimension)
    out.cells = Int64(model.cellCount)
    out.covariates = Int64(model.covariates.count)
    out.label_count = Int64(model.labels?.values.count ?? 0)
    out.compact = model.isCompact ? 1 : 0
    out.has_genes = model.geneSpace == nil ? 0 : 1
    out.model_version = model.modelVersion
    out.has_cluster_spread = model.clusterSpread == nil ? 0 : 1
    out.has_layout = model.layout == nil ? 0 : 1
    info.pointee = out
}

/// The model's names and parameters as a JSON object (release with harmony_string_free).
@_cdecl("harmony_model_describe")
public func harmonyModelDescribe(_ handle: OpaquePointer?) -> UnsafeMutablePointer<CChar>? {
    guard let model = try? ModelHandle.model(handle) else { return nil }
    return strdup(ModelDescription.json(model))
}

/// Frees a string the library returned.
@_cdecl("harmony_string_free")
public func harmonyStringFree(_ string: UnsafeMutablePointer<CChar>?) {
    free(string)
}

/// The JSON text of `harmony_model_describe`.
enum ModelDescription {
    static func json(_ model: ReferenceModel) -> String {
        var fields: [(String, String)] = []
        fields.append(("model_version", "\(model.modelVersion)"))
        fields.append(("preset", JSONText.string(model.parameters.preset.rawValue)))
        fields.append(("clusters", "\(model.clusterCount)"))
        fields.append(("dimensions", "\(model.dimension)"))
        fields.append(("cells", "\(model.cellCount)"))
        fields.append(("compact", model.isCompact ? "true" : "false"))
        fields.append(("genes", model.geneSpace == nil ? "false" : "true"))
        fields.append(("gene_count", "\(model.geneSpace?.genes.count ?? 0)"))
        fields.append(("cluster_spread", model.clusterSpread == nil ? "false" : "true"))
        fields.append(("sigma", JSONText.numbers(model.parameters.sigma)))
        fields.append(("theta", JSONText.numbers(model.parameters.theta)))
        switch model.parameters.lambda {
        case .dynamic(let alpha): fields.append(("lambda", JSONText.object([("alpha", JSONText.number(alpha))])))
        case .fixed(let values): fields.append(("lambda", JSONText.numbers(values)))
        }
        fields.append(("covariates", "[" + model.covariates.map {
            JSONText.object([("name", JSONText.string($0.name)), ("levels", JSONText.strings($0.levels))])
        }.joined(separator: ",") + "]"))
        if let layout = model.layout {
            let p = layout.parameters
            fields.append(("layout", JSONText.object([
                ("n_neighbors", "\(p.neighbors)"), ("min_dist", JSONText.number(p.minDist)),
                ("spread", JSONText.number(p.spread)), ("maxiter", "\(p.resolvedEpochs(cells: layout.positions.rows))"),
                ("alpha", JSONText.number(p.learningRate)), ("gamma", JSONText.number(p.repulsion)),
                ("negative_sample_rate", "\(p.negativeSampleRate)"), ("random_state", "\(p.seed)")])))
        } else {
            fields.append(("layout", "null"))
        }
        if let labels = model.labels {
            fields.append(("labels", JSONText.object([("name", JSONText.string(labels.name)),
                                                       ("values", JSONText.strings(labels.values))])))
        } else {
            fields.append(("labels", "null"))
        }
        return JSONText.object(fields)
    }
}
