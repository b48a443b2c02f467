import ArgumentParser
import HarmonyCore
#if canImport(Glibc)
import Glibc
#endif

/// Checks on output paths made before any work starts, so that a long fit never ends in an unwritable file.
enum OutputPath {
    /// Throws a `ValidationError` when `path`'s extension names no supported format (unless
    /// `formatByExtension` is false; `.h5ad` counts when `allowH5AD`) or its directory does not exist.
    static func check(_ path: String, option: String, formatByExtension: Bool = true, allowH5AD: Bool = false) throws {
        if formatByExtension && !(allowH5AD && isH5AD(path)) {
            do {
                _ = try MatrixFileFormat(path: path)
            } catch let e as HarmonyError {
                throw ValidationError("\(option): \(e.description)")
            }
        }
        let dir = path.lastIndex(of: "/").map { String(path[...$0]) } ?? "."
        var info = stat()
        guard stat(dir, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else {
            throw ValidationError("\(option): the directory '\(dir)' does not exist.")
        }
    }

    /// Whether `path` names an AnnData `.h5ad` file.
    static func isH5AD(_ path: String) -> Bool { path.lowercased().hasSuffix(".h5ad") }
}
