// The state directory's model files.
//
// Layout: `model-v<N>.hmod` (a refitted model, written atomically by ModelFile), `CURRENT` (one line:
// `model-v<N>.hmod <folded-sequence>`, replaced atomically after the model file is durable), `wal.log` and
// `checkpoint.log` (the batches' cells as of the last refit; the log holds only what came after).
// The pointer is written last, so after a crash it names either the old complete model or the new complete
// one, never a partial file. Thread contract: `loadCurrent` runs at start-up; `persist` on a pool thread (it
// fsyncs); neither touches loop state.
import HarmonyCore
#if canImport(Glibc)
import Glibc
#endif

/// Reads and writes the models of a state directory.
struct ModelStore: Sendable {
    /// The state directory.
    let directory: String

    /// The write-ahead log's path.
    var walPath: String { directory + "/wal.log" }
    /// The log checkpoint's path (see `Checkpoint`).
    var checkpointPath: String { directory + "/" + Checkpoint.fileName }
    /// The pointer file's path.
    var pointerPath: String { directory + "/CURRENT" }

    /// File name of the model of `version`.
    static func fileName(version: UInt64) -> String { "model-v\(version).hmod" }

    /// Reads a model file, turning its errors into start-up errors that name the file.
    static func readModel(_ path: String) throws -> ReferenceModel {
        do {
            return try ModelFile.read(path)
        } catch {
            throw ServerError.state("cannot load the model \(path): \(error)")
        }
    }

    /// The model the pointer names and the last WAL sequence folded into it; nil when there is no pointer yet.
    func loadCurrent() throws -> (model: ReferenceModel, foldedSequence: UInt64, source: String)? {
        guard StateFiles.exists(pointerPath) else { return nil }
        let text = String(decoding: try StateFiles.read(pointerPath), as: UTF8.self)
        let fields = text.split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard fields.count == 2, let folded = UInt64(fields[1]), !fields[0].contains("/") else {
            throw ServerError.state("\(pointerPath) is not a model pointer (expected `model-vN.hmod SEQUENCE`)")
        }
        let path = directory + "/" + fields[0]
        return (try ModelStore.readModel(path), folded, path)
    }

    /// Writes `model` durably and points `CURRENT` at it; removes model files older than the previous one.
    /// Runs on a pool thread.
    func persist(_ model: ReferenceModel, foldedSequence: UInt64, previousVersion: UInt64) throws -> String {
        let name = ModelStore.fileName(version: model.modelVersion)
        let path = directory + "/" + name
        do {
            try ModelFile.write(model, to: path)
        } catch {
            throw ServerError.io("cannot write the refitted model \(path): \(error)")
        }
        try StateFiles.writeAtomically(Array("\(name) \(foldedSequence)\n".utf8), to: pointerPath)
        if previousVersion > 1 {
            // Keep the model the pointer named before (useful for inspection); drop anything older.
            for version in 1..<previousVersion {
                unlink(directory + "/" + ModelStore.fileName(version: version))
            }
        }
        return path
    }
}
