/// The on-disk format of an embedding or per-cell table, chosen by the file name's extension.
///
/// Text formats carry a header row and the cell ids in the first column; `.npy` carries the numbers only, with
/// the cell ids in a sidecar text file (see `NumpyFile.sidecarPath(for:)`).
public enum MatrixFileFormat: Sendable, Equatable {
    /// Delimited text: tab for `.tsv`/`.txt`, comma for `.csv`; `gzip` when the name ends in `.gz`.
    case text(separator: UInt8, gzip: Bool)
    /// NumPy `.npy` (format version 1.0 on output), 2-D, float32 or float64, C order.
    case npy

    /// The format implied by `path`'s extension (case-insensitive).
    /// - Throws: `HarmonyError.invalidParameter` for an extension that is not one of `.tsv`, `.txt`, `.csv`
    ///   (each optionally followed by `.gz`) or `.npy`.
    public init(path: String) throws {
        let lower = path.lowercased()
        let gzip = lower.hasSuffix(".gz")
        let stem = gzip ? String(lower.dropLast(3)) : lower
        if stem.hasSuffix(".tsv") || stem.hasSuffix(".txt") {
            self = .text(separator: UInt8(ascii: "\t"), gzip: gzip)
        } else if stem.hasSuffix(".csv") {
            self = .text(separator: UInt8(ascii: ","), gzip: gzip)
        } else if stem.hasSuffix(".npy") && !gzip {
            self = .npy
        } else {
            throw HarmonyError.invalidParameter(
                "\(path): unsupported file type; use .tsv, .csv or .txt (optionally .gz-compressed) or .npy")
        }
    }
}
