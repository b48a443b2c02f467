// The .h5ad layout written here is anndata's current one (0.8 and later; read by every anndata since): every
// element carries "encoding-type" and "encoding-version" attributes; dataframes name their index dataset in
// `_index` and their columns in `column-order`; categoricals are groups of `categories` and `codes`. X is left
// out, which anndata accepts (an AnnData without X); n_obs and n_vars come from obs and var.

/// A column of obs to write.
public enum AnnDataOutputColumn: Sendable {
    /// Text, written as a string array.
    case strings([String])
    /// Text written as a pandas categorical: categories sorted (as pandas orders string categories), codes
    /// int8 below 128 categories, int32 beyond.
    case categorical([String])
    /// Numbers written as float32.
    case floats([Float])
    /// Numbers written as float64.
    case doubles([Double])
    /// Integers written as int64.
    case integers([Int64])

    var count: Int {
        switch self {
        case .strings(let v), .categorical(let v): return v.count
        case .floats(let v): return v.count
        case .doubles(let v): return v.count
        case .integers(let v): return v.count
        }
    }
}

/// A scalar of `uns` provenance.
public enum AnnDataScalar: Sendable, Equatable {
    case string(String)
    case number(Double)
    case integer(Int64)
}

/// What an `.h5ad` output holds: obs (index and columns), var names (may be empty), obsm arrays and one
/// `uns` group of scalars.
public struct AnnDataOutput: Sendable {
    /// Cell ids (obs index).
    public var obsNames: [String]
    /// obs columns, in order.
    public var obsColumns: [(name: String, column: AnnDataOutputColumn)]
    /// Gene names (var index); empty when the file holds no expression.
    public var varNames: [String]
    /// Dense cells x d arrays, written as float32 (the precision of the fit's embeddings).
    public var obsm: [(name: String, values: Matrix<Float>)]
    /// Name of the `uns` group of provenance scalars (tool version, model version, parameters as strings).
    public var unsGroup: String
    /// The scalars of `uns/<unsGroup>`, in order.
    public var uns: [(name: String, value: AnnDataScalar)]

    /// An output of `obsNames` cells with nothing else yet.
    public init(obsNames: [String], obsColumns: [(name: String, column: AnnDataOutputColumn)] = [],
                varNames: [String] = [], obsm: [(name: String, values: Matrix<Float>)] = [],
                unsGroup: String = "harmony", uns: [(name: String, value: AnnDataScalar)] = []) {
        self.obsNames = obsNames
        self.obsColumns = obsColumns
        self.varNames = varNames
        self.obsm = obsm
        self.unsGroup = unsGroup
        self.uns = uns
    }
}

/// Writes `.h5ad` files that anndata and scanpy read.
public enum AnnDataWriter {
    /// The file's bytes, for committing with other outputs through `AtomicFileGroup`.
    /// - Throws: `.invalidInput` when columns or arrays do not have one entry per cell; `.io` on HDF5 failures.
    public static func bytes(_ output: AnnDataOutput, path: String) throws -> [UInt8] {
        let n = output.obsNames.count
        for (name, column) in output.obsColumns where column.count != n {
            throw HarmonyError.invalidInput("\(path): obs column '\(name)' has \(column.count) values for \(n) cells")
        }
        for (name, values) in output.obsm where values.rows != n {
            throw HarmonyError.invalidInput("\(path): obsm '\(name)' has \(values.rows) rows for \(n) cells")
        }
        let file = try HDF5Writer(reportingAs: path)
        try setEncoding(file, "/", "anndata", "0.1.0")
        try writeFrame(file, "/obs", index: output.obsNames, columns: output.obsColumns)
        try writeFrame(file, "/var", index: output.varNames, columns: [])
        try file.createGroup("/obsm")
        try setEncoding(file, "/obsm", "dict", "0.1.0")
        for (name, values) in output.obsm {
            try file.write(values.values, to: "/obsm/\(name)", columns: values.cols)
            try setEncoding(file, "/obsm/\(name)", "array", "0.2.0")
        }
        try file.createGroup("/uns")
        try setEncoding(file, "/uns", "dict", "0.1.0")
        let group = "/uns/\(output.unsGroup)"
        try file.createGroup(group)
        try setEncoding(file, group, "dict", "0.1.0")
        for (name, value) in output.uns {
            let object = "\(group)/\(name)"
            switch value {
            case .string(let s):
                try file.write(strings: [s], to: object, scalar: true)
                try setEncoding(file, object, "string", "0.2.0")
            case .number(let x):
                try file.write([x], to: object, scalar: true)
                try setEncoding(file, object, "numeric-scalar", "0.2.0")
            case .integer(let x):
                try file.write([x], to: object, scalar: true)
                try setEncoding(file, object, "numeric-scalar", "0.2.0")
            }
        }
        return try file.image()
    }

    /// Writes the file atomically (temporary file, fsync, rename).
    public static func write(_ output: AnnDataOutput, to path: String) throws {
        try AtomicFileGroup.write(try bytes(output, path: path), to: path)
    }

    /// Writes the cells of `source` as an `.h5ad` whose X is a CSR matrix of float32 values, read from the source
    /// and written in blocks of `blockCells` cells, so the matrix is never held whole (simulations of any size).
    /// obs holds the cell ids and `obsColumns`; var's index is the gene names, with the ids in column `gene_ids`
    /// (as scanpy's `read_10x_h5` lays them out). The file appears at `path` only once complete.
    public static func writeExpression(_ source: any ExpressionSource,
                                       obsColumns: [(name: String, column: AnnDataOutputColumn)] = [],
                                       to path: String, blockCells: Int = 4096) throws {
        let n = source.cellCount, g = source.geneCount
        for (name, column) in obsColumns where column.count != n {
            throw HarmonyError.invalidInput("\(path): obs column '\(name)' has \(column.count) values for \(n) cells")
        }
        let file = try HDF5Writer(streamingTo: path)
        try setEncoding(file, "/", "anndata", "0.1.0")
        try writeFrame(file, "/obs", index: source.cellIDs, columns: obsColumns)
        try writeFrame(file, "/var", index: source.genes.map(\.name), columns: [("gene_ids", .strings(source.genes.map(\.id)))])
        try file.createGroup("/X")
        try setEncoding(file, "/X", "csr_matrix", "0.1.0")
        try file.setAttribute("shape", on: "/X", integers: [Int64(n), Int64(g)])
        try file.createGrowing("/X/data", of: Float.self)
        try file.createGrowing("/X/indices", of: Int32.self)
        var rowStarts: [Int64] = [0]
        rowStarts.reserveCapacity(n + 1)
        var start = 0
        while start < n {
            let end = min(n, start + blockCells)
            let rows = try source.rows(start..<end)
            try file.append(rows.values, to: "/X/data")
            try file.append(rows.columns, to: "/X/indices")
            let base = rowStarts[rowStarts.count - 1]
            for r in 1...rows.rowCount { rowStarts.append(base + Int64(rows.rowStarts[r])) }
            start = end
        }
        try file.write(rowStarts, to: "/X/indptr")
        for group in ["/obsm", "/uns"] {
            try file.createGroup(group)
            try setEncoding(file, group, "dict", "0.1.0")
        }
        try file.publish()
    }

    private static func setEncoding(_ file: HDF5Writer, _ object: String, _ type: String, _ version: String) throws {
        try file.setAttribute("encoding-type", on: object, type)
        try file.setAttribute("encoding-version", on: object, version)
    }

    private static func writeFrame(_ file: HDF5Writer, _ group: String, index: [String],
                                   columns: [(name: String, column: AnnDataOutputColumn)]) throws {
        try file.createGroup(group)
        try setEncoding(file, group, "dataframe", "0.2.0")
        try file.setAttribute("_index", on: group, "_index")
        try file.setAttribute("column-order", on: group, strings: columns.map(\.name), array: true)
        try file.write(strings: index, to: "\(group)/_index")
        try setEncoding(file, "\(group)/_index", "string-array", "0.2.0")
        for (name, column) in columns {
            let object = "\(group)/\(name)"
            switch column {
            case .strings(let v):
                try file.write(strings: v, to: object)
                try setEncoding(file, object, "string-array", "0.2.0")
            case .categorical(let v):
                let categories = Array(Set(v)).sorted()
                var code: [String: Int] = [:]
                for (i, c) in categories.enumerated() { code[c] = i }
                try file.createGroup(object)
                try setEncoding(file, object, "categorical", "0.2.0")
                try file.setAttribute("ordered", on: object, flag: false)
                try file.write(strings: categories, to: "\(object)/categories")
                try setEncoding(file, "\(object)/categories", "string-array", "0.2.0")
                if categories.count < 128 {
                    try file.write(v.map { Int8(code[$0]!) }, to: "\(object)/codes")
                } else {
                    try file.write(v.map { Int32(code[$0]!) }, to: "\(object)/codes")
                }
                try setEncoding(file, "\(object)/codes", "array", "0.2.0")
            case .floats(let v):
                try file.write(v, to: object)
                try setEncoding(file, object, "array", "0.2.0")
            case .doubles(let v):
                try file.write(v, to: object)
                try setEncoding(file, object, "array", "0.2.0")
            case .integers(let v):
                try file.write(v, to: object)
                try setEncoding(file, object, "array", "0.2.0")
            }
        }
    }
}
