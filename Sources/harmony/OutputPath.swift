import ArgumentParser
import HarmonyCore
#if canImport(Glibc)
import Glibc
#endif

/// Checks on output paths made before any work starts, so that a long fit never ends in an unwritable file.
enum OutputPath {
    /// Throws a `ValidationError` when `path`'s extension names no supported format (unless
    /// `formatByExtension` is false) or its directory does not exist.
    static func check(_ path: String, option: String, formatByExtension: Bool = true) throws {
        if formatByExtension {
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
}
