// AnnData `.h5ad` files (HDF5), as written by anndata 0.8 and later ("encoding-type" attributes on every
// element) and by anndata 0.7 (dataframe columns as plain datasets, categories in an `__categories` subgroup,
// the index named by the `_index` attribute; sparse matrices also marked with `h5sparse_format`/`h5sparse_shape`
// by older writers). obs, var and obsm are read whole (they are small: a few columns per cell); the expression
// matrix is read in row blocks by the sources in SparseSources.swift.

/// One column of an AnnData dataframe (obs or var). Missing values are nil, or code -1 for categoricals.
public enum AnnDataColumn: Sendable, Equatable {
    /// Text (`string-array`, or `nullable-string-array` with its mask).
    case strings([String?])
    /// Integers (`array` of an integer type, or `nullable-integer` with its mask).
    case integers([Int64?])
    /// Floating-point numbers (NaN stays NaN: pandas' missing float).
    case floats([Double])
    /// Booleans (`array` of bool, or `nullable-boolean` with its mask).
    case booleans([Bool?])
    /// A categorical: a code per row into `categories`, -1 for missing.
    case categorical(codes: [Int32], categories: [String])

    /// Number of rows.
    public var count: Int {
        switch self {
        case .strings(let v): return v.count
        case .integers(let v): return v.count
        case .floats(let v): return v.count
        case .booleans(let v): return v.count
        case .categorical(let codes, _): return codes.count
        }
    }

    /// Row `i` as text: categories and strings as they are, numbers in Swift's shortest form, booleans as
    /// `True`/`False` (as pandas prints them), missing values (and NaN) as the empty string.
    public func text(at i: Int) -> String {
        switch self {
        case .strings(let v): return v[i] ?? ""
        case .integers(let v): return v[i].map { String($0) } ?? ""
        case .floats(let v): return v[i].isNaN ? "" : String(v[i])
        case .booleans(let v): return v[i].map { $0 ? "True" : "False" } ?? ""
        case .categorical(let codes, let categories): return codes[i] >= 0 ? categories[Int(codes[i])] : ""
        }
    }
}

/// An AnnData dataframe: an index (obs or var names) and named columns in their stored order.
public struct AnnDataFrame: Sendable, Equatable {
    /// Row names.
    public let index: [String]
    /// Column names, in order.
    public let columnNames: [String]
    /// Columns by name.
    public let columns: [String: AnnDataColumn]

    /// Column `name`, or nil.
    public func column(_ name: String) -> AnnDataColumn? { columns[name] }
}

/// An AnnData `.h5ad` file opened for reading: obs and var, obsm arrays, and the expression matrices.
public struct AnnData: Sendable {
    /// The file's path.
    public let path: String
    /// Cell annotations (index = cell ids).
    public let obs: AnnDataFrame
    /// Gene annotations (index = gene names).
    public let `var`: AnnDataFrame
    let file: HDF5File

    /// Opens `path` and reads obs and var.
    /// - Throws: `.io` when missing, `.fileFormat` naming the file and element when it is not an AnnData file.
    public static func open(_ path: String) throws -> AnnData {
        let file = try HDF5File(reading: path)
        let root = file.root
        guard root.kind(of: "obs") == .group, root.kind(of: "var") == .group else {
            throw HarmonyError.fileFormat("\(path): not an AnnData file (no obs and var groups; files of anndata "
                                          + "before 0.7 are not read, rewrite them with a current anndata)")
        }
        let obs = try readFrame(try root.group("obs"))
        let vars = try readFrame(try root.group("var"))
        try checkNames(genes: [], cells: obs.index, origin: "\(path), obs")
        return AnnData(path: path, obs: obs, var: vars, file: file)
    }

    /// Cell ids (the obs index).
    public var obsNames: [String] { obs.index }
    /// Gene names (the var index).
    public var varNames: [String] { `var`.index }

    /// Names of the arrays in obsm.
    public func obsmNames() throws -> [String] {
        file.root.kind(of: "obsm") == .group ? try file.root.group("obsm").memberNames() : []
    }

    /// The dense obsm array `name` (cells x d) as Float.
    public func obsm(_ name: String) throws -> Matrix<Float> {
        let (dataset, rows, cols) = try obsmDataset(name)
        return Matrix(rows: rows, cols: cols, values: try dataset.readFloats())
    }

    /// The dense obsm array `name` as an embedding (Double values as stored, obs names as cell ids; columns
    /// named `<name>_1`, `<name>_2`, ...), checking that every value is finite.
    public func obsmEmbedding(_ name: String) throws -> Embedding {
        let (dataset, rows, cols) = try obsmDataset(name)
        let values = try dataset.readDoubles()
        if let bad = values.firstIndex(where: { !$0.isFinite }) {
            throw HarmonyError.fileFormat("\(path), obsm/\(name): cell '\(obsNames[bad / max(cols, 1)])', "
                                          + "column \(bad % max(cols, 1) + 1): \(values[bad]) is not a finite number")
        }
        return Embedding(path: "\(path) obsm/\(name)", ids: obsNames, columnNames: (1...max(cols, 1)).prefix(cols).map { "\(name)_\($0)" },
                         values: Matrix(rows: rows, cols: cols, values: values))
    }

    /// The cells of `obsm[name]` without their values: obs names as ids and a values matrix of N rows and no
    /// columns (for a process that reads its own rows with `obsmRows`), and the array's column count.
    public func obsmCells(_ name: String) throws -> (cells: Embedding, dims: Int) {
        let (_, rows, cols) = try obsmDataset(name)
        return (Embedding(path: "\(path) obsm/\(name)", ids: obsNames, columnNames: [],
                          values: Matrix(rows: rows, cols: 0, values: [])), cols)
    }

    /// Rows `rows` of `obsm[name]` as Float (a hyperslab: nothing else of the array is read), e.g. one process's
    /// cells of a distributed fit; non-finite values are format errors naming the cell.
    public func obsmRows(_ name: String, rows: Range<Int>) throws -> Matrix<Float> {
        let (dataset, _, cols) = try obsmDataset(name)
        let values = try dataset.readFloats(rows)
        if let bad = values.firstIndex(where: { !$0.isFinite }) {
            throw HarmonyError.fileFormat("\(path), obsm/\(name): cell '\(obsNames[rows.lowerBound + bad / cols])', "
                                          + "column \(bad % cols + 1): \(values[bad]) is not a finite number")
        }
        return Matrix(rows: rows.count, cols: cols, values: values)
    }

    private func obsmDataset(_ name: String) throws -> (HDF5Dataset, Int, Int) {
        let known = try obsmNames()
        guard known.contains(name) else {
            throw HarmonyError.invalidParameter("\(path): no obsm array '\(name)'; it has "
                + (known.isEmpty ? "none" : known.map { "'\($0)'" }.joined(separator: ", ")))
        }
        let group = try file.root.group("obsm")
        guard group.kind(of: name) == .dataset else {
            throw HarmonyError.fileFormat("\(path), obsm/\(name): a sparse array; a dense embedding is needed")
        }
        let dataset = try group.dataset(name)
        guard dataset.shape.count == 2, dataset.shape[0] == obsNames.count, dataset.shape[1] >= 1 else {
            throw HarmonyError.fileFormat("\(path), obsm/\(name): shape \(dataset.shape.map(String.init).joined(separator: " x ")) "
                                          + "is not \(obsNames.count) cells x dimensions (mismatched shapes)")
        }
        return (dataset, dataset.shape[0], dataset.shape[1])
    }

    /// obs as a metadata table (cell ids first, every column as text; see `AnnDataColumn.text(at:)`), so that the
    /// commands that take `--meta` tables take an `.h5ad`'s obs unchanged. Missing values become empty fields,
    /// which the commands reject with a message naming the column and cell.
    public func obsMetadata() throws -> CellMetadata {
        let names = obs.columnNames
        let table = DelimitedTable(
            path: "\(path) (obs)", header: ["obs_names"] + names, ids: obs.index,
            fields: obs.index.indices.map { i in names.map { obs.columns[$0]!.text(at: i) } },
            lineNumbers: obs.index.indices.map { $0 + 1 })
        var rowOfId: [String: Int] = [:]
        rowOfId.reserveCapacity(obs.index.count)
        for (i, id) in obs.index.enumerated() { rowOfId[id] = i }
        return CellMetadata(table: table, rowOfId: rowOfId)
    }

    /// The expression matrix: X (layer nil), `layers/NAME`, or `raw/X` (layer "raw", with raw's own genes).
    ///
    /// Genes: the var index gives the names, the `gene_ids` column (when present) the ids; when var has a
    /// `feature_types` column only "Gene Expression" features are kept. CSR and dense matrices are read in row
    /// blocks (see `HDF5SparseRowsSource` and `HDF5DenseSource` for the memory of a block). CSC matrices cannot be
    /// sliced by cell, so they are read once by gene blocks and transposed into a CSR in memory (12 bytes per
    /// non-zero at peak), up to `AnnData.maximumCSCEntries` non-zeros; larger ones are refused with advice to
    /// store them as CSR.
    public func expression(layer: String? = nil) throws -> any ExpressionSource {
        let root = file.root
        var elementPath = "X"
        var genesFrame = `var`
        if let layer {
            if layer == "raw" {
                guard root.kind(of: "raw") == .group else { throw HarmonyError.invalidParameter("\(path): no raw in this file") }
                elementPath = "raw/X"
                genesFrame = try Self.readFrame(try root.group("raw/var"))
            } else {
                let layers = root.kind(of: "layers") == .group ? try root.group("layers").memberNames() : []
                guard layers.contains(layer) else {
                    throw HarmonyError.invalidParameter("\(path): no layer '\(layer)'; its layers are "
                        + (layers.isEmpty ? "none" : layers.map { "'\($0)'" }.joined(separator: ", ")) + " (and 'raw' where present)")
                }
                elementPath = "layers/\(layer)"
            }
        }
        let origin = elementPath == "X" ? path : "\(path) (\(elementPath))"
        guard let kind = root.kind(of: elementPath) else {
            throw HarmonyError.fileFormat("\(path): no \(elementPath) in this file (no expression matrix)")
        }
        var ids = genesFrame.index
        if let given = genesFrame.column("gene_ids") {
            ids = ids.indices.map { given.text(at: $0).isEmpty ? ids[$0] : given.text(at: $0) }
        }
        let allGenes = zip(ids, genesFrame.index).map { Gene(id: $0, name: $1) }
        var keep = [Bool](repeating: true, count: allGenes.count)
        if let types = genesFrame.column("feature_types") {
            keep = (0..<types.count).map { types.text(at: $0) == TenX.geneExpression }
        }
        let columns = ColumnMap(keep: keep)
        let genes = zip(allGenes, keep).filter { $0.1 }.map { $0.0 }
        try checkNames(genes: genes, cells: [], origin: origin)
        let cells = obsNames
        if kind == .dataset {
            return try HDF5DenseSource(origin: origin, cellIDs: cells, genes: genes,
                                       matrix: try root.dataset(elementPath), columns: columns)
        }
        let group = try root.group(elementPath)
        let encoding = try group.stringAttribute("encoding-type") ?? group.stringAttribute("h5sparse_format").map { "\($0)_matrix" }
        let shape = try group.integersAttribute("shape") ?? group.integersAttribute("h5sparse_shape")
        guard shape == [cells.count, allGenes.count] else {
            throw HarmonyError.fileFormat("\(origin): shape \(shape.map { $0.map(String.init).joined(separator: " x ") } ?? "missing") "
                                          + "is not \(cells.count) cells x \(allGenes.count) genes (mismatched shapes)")
        }
        switch encoding {
        case "csr_matrix":
            return try HDF5SparseRowsSource(origin: origin, cellIDs: cells, genes: genes, values: try group.dataset("data"),
                                            indices: try group.dataset("indices"), offsets: try group.dataset("indptr"),
                                            columns: columns)
        case "csc_matrix":
            let matrix = try Self.transposeCSC(group, cellCount: cells.count, columns: columns, origin: origin)
            return try InMemoryExpression(origin: origin, cellIDs: cells, genes: genes, matrix: matrix)
        default:
            throw HarmonyError.fileFormat("\(origin): a group of encoding '\(encoding ?? "none")', not a sparse "
                                          + "matrix (csr_matrix or csc_matrix) nor a dense array")
        }
    }

    /// Largest CSC matrix transposed in memory: 2^29 non-zeros (about 4.3 GB as CSR, 6.4 GB at peak).
    public static let maximumCSCEntries = 1 << 29

    /// A CSC matrix (genes as columns) read in blocks of genes and scattered into a CSR over cells.
    private static func transposeCSC(_ group: HDF5Group, cellCount: Int, columns: ColumnMap, origin: String) throws -> SparseRows {
        let values = try group.dataset("data"), indices = try group.dataset("indices")
        let offsets = try group.dataset("indptr").readInt64s()
        guard values.length == indices.length, offsets.count == columns.map.count + 1 else {
            throw HarmonyError.fileFormat("\(origin): \(values.length) values, \(indices.length) indices and "
                                          + "\(offsets.count) offsets for \(columns.map.count) genes (mismatched shapes)")
        }
        try checkOffsets(offsets, entries: values.length, origin: origin, what: "gene")
        guard values.length <= maximumCSCEntries else {
            throw HarmonyError.fileFormat("\(origin): a CSC matrix of \(values.length) non-zeros is too large to "
                + "transpose in memory; store it by cell: `adata.X = adata.X.tocsr(); adata.write_h5ad(path, compression='gzip')`")
        }
        let block = 1 << 22
        // Pass 1: entries per cell (kept genes only).
        var starts = [Int](repeating: 0, count: cellCount + 1)
        try forEachBlock(offsets: offsets, block: block) { geneRange, entryRange in
            let cells = try indices.readInt32s(entryRange)
            for g in geneRange where columns.map[g] >= 0 {
                for e in Int(offsets[g])..<Int(offsets[g + 1]) {
                    let c = Int(cells[e - entryRange.lowerBound])
                    guard c >= 0, c < cellCount else {
                        throw HarmonyError.fileFormat("\(origin): gene \(g) has cell index \(c), outside 0..<\(cellCount)")
                    }
                    starts[c + 1] += 1
                }
            }
        }
        for c in 0..<cellCount { starts[c + 1] += starts[c] }
        // Pass 2: scatter; genes arrive in increasing order, so every row comes out sorted.
        var cursor = starts
        var outColumns = [Int32](repeating: 0, count: starts[cellCount])
        var outValues = [Float](repeating: 0, count: starts[cellCount])
        try forEachBlock(offsets: offsets, block: block) { geneRange, entryRange in
            let cells = try indices.readInt32s(entryRange)
            let data = try values.readFloats(entryRange)
            for g in geneRange where columns.map[g] >= 0 {
                let kept = columns.map[g]
                for e in Int(offsets[g])..<Int(offsets[g + 1]) {
                    let c = Int(cells[e - entryRange.lowerBound])
                    if cursor[c] > starts[c] && outColumns[cursor[c] - 1] == kept {
                        throw HarmonyError.fileFormat("\(origin): cell \(c) lists gene \(g) twice")
                    }
                    outColumns[cursor[c]] = kept
                    outValues[cursor[c]] = data[e - entryRange.lowerBound]
                    cursor[c] += 1
                }
            }
        }
        return SparseRows(unchecked: columns.keptCount, rowStarts: starts, columns: outColumns, values: outValues)
    }

    /// Calls `body` with consecutive gene ranges holding about `block` entries each (at least one gene).
    private static func forEachBlock(offsets: [Int64], block: Int,
                                     _ body: (Range<Int>, Range<Int>) throws -> Void) throws {
        var g = 0
        let genes = offsets.count - 1
        while g < genes {
            var h = g + 1
            while h < genes && offsets[h + 1] - offsets[g] <= Int64(block) { h += 1 }
            try body(g..<h, Int(offsets[g])..<Int(offsets[h]))
            g = h
        }
    }

    // MARK: dataframes

    /// Reads a dataframe group in the current or the anndata 0.7 layout.
    static func readFrame(_ group: HDF5Group) throws -> AnnDataFrame {
        let file = group.file
        let indexName = try group.stringAttribute("_index") ?? "_index"
        guard group.kind(of: indexName) == .dataset else {
            throw file.failure(group.path, "no index dataset '\(indexName)' (not an AnnData dataframe)")
        }
        let index = try readText(try group.dataset(indexName))
        var names = try group.stringsAttribute("column-order")
            ?? group.memberNames().filter { $0 != indexName && $0 != "__categories" }
        names = names.filter { !$0.isEmpty }
        var columns: [String: AnnDataColumn] = [:]
        for name in names {
            let column = try readColumn(group, name)
            guard column.count == index.count else {
                throw file.failure(group.childPath(name), "\(column.count) values for \(index.count) rows (mismatched shapes)")
            }
            columns[name] = column
        }
        return AnnDataFrame(index: index, columnNames: names, columns: columns)
    }

    private static func readColumn(_ frame: HDF5Group, _ name: String) throws -> AnnDataColumn {
        let file = frame.file
        let path = frame.childPath(name)
        switch frame.kind(of: name) {
        case .group?:
            let group = try frame.group(name)
            let encoding = try group.stringAttribute("encoding-type") ?? "none"
            switch encoding {
            case "categorical":
                return try categorical(codes: try group.dataset("codes"), categories: try group.dataset("categories"))
            case "nullable-integer", "nullable-boolean", "nullable-string-array":
                let values = try group.dataset("values")
                let mask = try group.dataset("mask").readInt64s()   // true = missing
                guard mask.count == values.length else { throw file.failure(path, "mask and values differ in length") }
                switch encoding {
                case "nullable-integer":
                    return .integers(zip(try values.readInt64s(), mask).map { $1 != 0 ? nil : $0 })
                case "nullable-boolean":
                    return .booleans(zip(try values.readInt64s(), mask).map { $1 != 0 ? nil : $0 != 0 })
                default:
                    return .strings(zip(try values.readStrings(), mask).map { $1 != 0 ? nil : $0 })
                }
            default:
                throw file.failure(path, "a column of encoding '\(encoding)', which is not read")
            }
        case .dataset?:
            let dataset = try frame.dataset(name)
            guard dataset.shape.count == 1 else { throw file.failure(path, "a column must be one-dimensional") }
            if frame.kind(of: "__categories/\(name)") == .dataset {   // anndata 0.7 categorical
                return try categorical(codes: dataset, categories: try frame.dataset("__categories/\(name)"))
            }
            switch dataset.elementClass {
            case .string: return .strings(try dataset.readStrings())
            case .integer: return .integers(try dataset.readInt64s())
            case .float: return .floats(try dataset.readDoubles())
            case .boolean: return .booleans(try dataset.readInt64s().map { $0 != 0 })
            case .other: throw file.failure(path, "a column of a type that is not read")
            }
        case nil:
            throw file.failure(path, "listed in column-order but missing")
        }
    }

    private static func categorical(codes: HDF5Dataset, categories: HDF5Dataset) throws -> AnnDataColumn {
        let levels = try readText(categories)
        let values = try codes.readInt64s()
        for v in values where v < -1 || v >= Int64(levels.count) {
            throw codes.file.failure(codes.path, "code \(v) is outside the \(levels.count) categories")
        }
        return .categorical(codes: values.map { Int32($0) }, categories: levels)
    }

    /// A 1-D dataset as text: strings as they are, numbers formatted (categories may be numbers).
    private static func readText(_ dataset: HDF5Dataset) throws -> [String] {
        switch dataset.elementClass {
        case .string: return try dataset.readStrings()
        case .integer: return try dataset.readInt64s().map { String($0) }
        case .float: return try dataset.readDoubles().map { String($0) }
        case .boolean: return try dataset.readInt64s().map { $0 != 0 ? "True" : "False" }
        case .other: throw dataset.file.failure(dataset.path, "neither text nor numbers")
        }
    }
}
