#if canImport(Glibc)
import Glibc
#endif

/// Opens expression matrices in the formats sequencing pipelines write, by what the path is.
public enum ExpressionFiles {
    /// The expression matrix at `path`:
    /// - a directory: Cell Ranger output (matrix.mtx[.gz] with features.tsv[.gz] or genes.tsv, and barcodes.tsv[.gz]);
    /// - `.h5ad`: AnnData's X, `layers/NAME` (`layer`), or raw's X (`layer` "raw");
    /// - `.h5`: a 10x Genomics matrix (v3 or v2 layout);
    /// - `.mtx` / `.mtx.gz`: MatrixMarket genes x cells, with features/barcodes files beside it when present.
    ///
    /// Only "Gene Expression" features are kept where feature types are given. Gene ids and cell ids must be
    /// unique. `layer` is only meaningful for `.h5ad`.
    /// - Throws: `.io` for a missing file, `.fileFormat` naming the file and element for a malformed one,
    ///   `.invalidParameter` for an unknown layer or a layer given for another format.
    public static func open(_ path: String, layer: String? = nil) throws -> any ExpressionSource {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw HarmonyError.io("\(path): cannot open: \(String(cString: strerror(errno)))")
        }
        let lower = path.lowercased()
        let isH5AD = lower.hasSuffix(".h5ad")
        if layer != nil && !isH5AD {
            throw HarmonyError.invalidParameter("\(path): a layer can only be chosen in an .h5ad file")
        }
        if (info.st_mode & S_IFMT) == S_IFDIR { return try TenX.openDirectory(path) }
        if isH5AD { return try AnnData.open(path).expression(layer: layer) }
        if lower.hasSuffix(".h5") || lower.hasSuffix(".hdf5") { return try TenX.openH5(path) }
        if lower.hasSuffix(".mtx") || lower.hasSuffix(".mtx.gz") { return try TenX.openMatrixMarket(path) }
        throw HarmonyError.fileFormat("\(path): not an expression file this tool reads (a Cell Ranger directory, "
                                      + ".h5ad, 10x .h5, or MatrixMarket .mtx[.gz])")
    }
}
