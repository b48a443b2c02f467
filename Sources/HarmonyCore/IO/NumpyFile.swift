import HarmonySystem
#if canImport(Glibc)
import Glibc
#endif

// NumPy `.npy` files (format versions 1.0, 2.0 and 3.0 on input, 1.0 on output). Layout: the magic
// "\x93NUMPY", major and minor version bytes, the header length (uint16 LE for 1.0, uint32 LE otherwise),
// a Python dict literal such as {'descr': '<f8', 'fortran_order': False, 'shape': (100, 20), } padded with
// spaces and a newline so that the data starts at a multiple of 64 bytes, then the raw values.

/// Reading and writing 2-D float32/float64 `.npy` matrices, with cell ids in a sidecar text file.
public enum NumpyFile {
    private static let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)

    /// The sidecar that carries the cell ids of `path`: `pcs.npy` -> `pcs.ids.txt`, one id per line, no header.
    /// Without it, the cells of a `.npy` file are named by their 0-based row numbers.
    public static func sidecarPath(for path: String) -> String {
        (path.lowercased().hasSuffix(".npy") ? String(path.dropLast(4)) : path) + ".ids.txt"
    }

    /// Where and how a `.npy` file stores its matrix.
    private struct Layout {
        let dataStart: Int
        let rows: Int
        let cols: Int
        /// Bytes per value (4 or 8).
        let width: Int
        let swap: Bool
        let fortran: Bool
    }

    /// The layout from the file's first bytes (`prefix`, at least the whole header) and its size in bytes.
    private static func layout(prefix bytes: [UInt8], fileSize: Int, path: String) throws -> Layout {
        guard bytes.count >= 10, Array(bytes[0..<6]) == magic else {
            throw HarmonyError.fileFormat("\(path): not a NumPy .npy file (the magic bytes are missing)")
        }
        let major = bytes[6]
        let headerLength: Int, headerStart: Int
        switch major {
        case 1:
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            headerStart = 10
        case 2, 3:
            guard bytes.count >= 12 else { throw HarmonyError.fileFormat("\(path): truncated .npy header") }
            headerLength = (0..<4).reduce(0) { $0 | Int(bytes[8 + $1]) << (8 * $1) }
            headerStart = 12
        default:
            throw HarmonyError.fileFormat("\(path): unsupported .npy format version \(major)")
        }
        guard bytes.count >= headerStart + headerLength else {
            throw HarmonyError.fileFormat("\(path): truncated .npy header")
        }
        let header = String(decoding: bytes[headerStart..<(headerStart + headerLength)], as: UTF8.self)
        let descr = try headerValue("descr", in: header, path: path)
        let fortran = try headerValue("fortran_order", in: header, path: path) == "True"
        let shape = try headerValue("shape", in: header, path: path)
            .split(separator: ",").map { $0.trimmingSpaces }.filter { !$0.isEmpty }.map { Int($0) }
        guard shape.count == 2, let rows = shape[0], let cols = shape[1] else {
            throw HarmonyError.fileFormat("\(path): the array has shape (\(shape.map { $0.map(String.init) ?? "?" }.joined(separator: ", "))); expected a 2-D matrix (cells x dimensions)")
        }
        let order = descr.first ?? "<"
        let kind = descr.dropFirst()
        guard kind == "f4" || kind == "f8", "<>=|".contains(order) else {
            throw HarmonyError.fileFormat("\(path): the array holds '\(descr)'; expected float32 ('<f4') or float64 ('<f8')")
        }
        let width = kind == "f4" ? 4 : 8
        let dataStart = headerStart + headerLength
        // The shape comes from the file: negative or overflowing sizes are format errors, not traps.
        let elements = rows.multipliedReportingOverflow(by: cols)
        let needed = elements.partialValue.multipliedReportingOverflow(by: width)
        guard rows >= 0, cols >= 0, !elements.overflow, !needed.overflow else {
            throw HarmonyError.fileFormat("\(path): the array's shape (\(rows), \(cols)) is not a valid matrix size")
        }
        guard fileSize - dataStart >= needed.partialValue else {
            throw HarmonyError.fileFormat("\(path): the file holds \(fileSize - dataStart) data bytes; a \(rows) x \(cols) '\(descr)' array needs \(needed.partialValue)")
        }
        return Layout(dataStart: dataStart, rows: rows, cols: cols, width: width, swap: order == ">", fortran: fortran)
    }

    /// Value `i` of `data` (4- or 8-byte floats, swapped when big-endian) as a Double (float32 widened exactly).
    @inline(__always)
    private static func value(_ data: UnsafeRawBufferPointer, _ i: Int, _ layout: Layout) -> Double {
        if layout.width == 4 {
            let bits = data.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self)
            return Double(Float(bitPattern: layout.swap ? bits.byteSwapped : bits))
        }
        let bits = data.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)
        return Double(bitPattern: layout.swap ? bits.byteSwapped : bits)
    }

    /// The numbers of a `.npy` file as float64 (float32 files are widened exactly), row-major.
    /// Fortran-ordered files are transposed into row order; big-endian files are byte-swapped.
    public static func readMatrix(_ path: String) throws -> Matrix<Double> {
        let bytes = try FileBytes.read(path)
        let layout = try layout(prefix: bytes, fileSize: bytes.count, path: path)
        let rows = layout.rows, cols = layout.cols, fortran = layout.fortran
        var values = [Double](repeating: 0, count: rows * cols)
        bytes.withUnsafeBytes { raw in
            let data = UnsafeRawBufferPointer(rebasing: raw[layout.dataStart...])
            for i in 0..<(rows * cols) {
                // Fortran order stores column after column: element i is (i % rows, i / rows).
                values[fortran ? (i % rows) * cols + i / rows : i] = value(data, i, layout)
            }
        }
        return Matrix(rows: rows, cols: cols, values: values)
    }

    /// The number of rows and columns of a `.npy` matrix, from its header.
    public static func shape(_ path: String) throws -> (rows: Int, cols: Int) {
        try withLayout(path) { _, layout in (layout.rows, layout.cols) }
    }

    /// Rows `rows` of a `.npy` matrix as Float (float64 values rounded to the nearest float32), read without
    /// the rest of the file: one read in C order, one per column in Fortran order. Non-finite values are
    /// format errors naming their row (0-based, of the whole file) and column.
    public static func readRows(_ path: String, rows: Range<Int>) throws -> Matrix<Float> {
        try withLayout(path) { fd, layout in
            guard rows.lowerBound >= 0, rows.upperBound <= layout.rows else {
                throw HarmonyError.invalidParameter("\(path): rows \(rows.lowerBound)..<\(rows.upperBound) are outside its \(layout.rows) rows")
            }
            let cols = layout.cols, w = layout.width
            var values = [Float](repeating: 0, count: rows.count * cols)
            // Per read: (file offset, values, where value x goes in `values`).
            let reads: [(offset: Int, count: Int, target: (Int) -> Int)] = layout.fortran
                ? (0..<cols).map { c in ((c * layout.rows + rows.lowerBound) * w, rows.count, { $0 * cols + c }) }
                : [(rows.lowerBound * cols * w, rows.count * cols, { $0 })]
            var buffer = [UInt8](repeating: 0, count: (reads.map { $0.count }.max() ?? 0) * w)
            for read in reads where read.count > 0 {
                try buffer.withUnsafeMutableBytes { raw in
                    try readFully(fd, into: raw.baseAddress!, count: read.count * w,
                                  offset: layout.dataStart + read.offset, path: path)
                    let data = UnsafeRawBufferPointer(raw)
                    for x in 0..<read.count {
                        let v = value(data, x, layout)
                        guard v.isFinite else {
                            let at = read.target(x)
                            throw HarmonyError.fileFormat("\(path), row \(rows.lowerBound + at / cols), column \(at % cols): non-finite value \(v)")
                        }
                        values[read.target(x)] = Float(v)
                    }
                }
            }
            return Matrix(rows: rows.count, cols: cols, values: values)
        }
    }

    /// Opens `path`, parses its header and calls `body` with the descriptor and the layout.
    private static func withLayout<T>(_ path: String, _ body: (Int32, Layout) throws -> T) throws -> T {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw HarmonyError.io("\(path): cannot open for reading: \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw HarmonyError.io("\(path): cannot read its size: \(String(cString: strerror(errno)))")
        }
        let size = Int(info.st_size)
        // The fixed part (12 bytes at most), then the whole header.
        var prefix = [UInt8](repeating: 0, count: min(size, 12))
        try prefix.withUnsafeMutableBytes { try readFully(fd, into: $0.baseAddress!, count: $0.count, offset: 0, path: path) }
        var headerEnd = prefix.count
        if prefix.count >= 10, prefix[6] == 1 {
            headerEnd = 10 + (Int(prefix[8]) | Int(prefix[9]) << 8)
        } else if prefix.count >= 12 {
            headerEnd = 12 + (0..<4).reduce(0) { $0 | Int(prefix[8 + $1]) << (8 * $1) }
        }
        prefix = [UInt8](repeating: 0, count: min(size, headerEnd))
        try prefix.withUnsafeMutableBytes { try readFully(fd, into: $0.baseAddress!, count: $0.count, offset: 0, path: path) }
        return try body(fd, try layout(prefix: prefix, fileSize: size, path: path))
    }

    /// Reads exactly `count` bytes at `offset`.
    private static func readFully(_ fd: Int32, into buffer: UnsafeMutableRawPointer, count: Int, offset: Int,
                                  path: String) throws {
        var done = 0
        while done < count {
            let got: Int
            do {
                got = try SystemCall.retrying("pread") { pread(fd, buffer + done, count - done, off_t(offset + done)) }
            } catch let error as SystemCallError {
                throw HarmonyError.io("\(path): cannot read: \(error.reason)")
            }
            guard got > 0 else { throw HarmonyError.io("\(path): cannot read: unexpected end of file") }
            done += got
        }
    }

    /// Reads `path` as an embedding: checks every value is finite (naming row and column), takes the ids from
    /// the sidecar file if there is one (else "0", "1", ...) and names the dimensions PC1..PCd.
    public static func readEmbedding(_ path: String) throws -> Embedding {
        let values = try readMatrix(path)
        for i in 0..<values.values.count where !values.values[i].isFinite {
            throw HarmonyError.fileFormat(
                "\(path), row \(i / values.cols), column \(i % values.cols): non-finite value \(values.values[i])")
        }
        return try embedding(path, values: values)
    }

    /// The cells of `path` without their values: the ids as `readEmbedding` gives them and a values matrix of
    /// N rows and no columns (for a process that reads its own rows with `readRows`).
    public static func readCells(_ path: String) throws -> Embedding {
        try embedding(path, values: Matrix(rows: try shape(path).rows, cols: 0, values: []))
    }

    /// `values` as the embedding of `path`: ids from the sidecar (checked), dimensions PC1..PCd.
    private static func embedding(_ path: String, values: Matrix<Double>) throws -> Embedding {
        let sidecar = sidecarPath(for: path)
        var ids: [String]
        var idLines: [Int] = []
        if access(sidecar, F_OK) == 0 {
            let lines = DelimitedTable.splitLines(try FileBytes.read(sidecar))
            ids = []
            for (i, line) in lines.enumerated() where !line.isEmpty {
                ids.append(String(decoding: line, as: UTF8.self))
                idLines.append(i + 1)
            }
            guard ids.count == values.rows else {
                throw HarmonyError.fileFormat("\(sidecar): \(ids.count) cell ids, but \(path) has \(values.rows) rows")
            }
        } else {
            ids = (0..<values.rows).map(String.init)
        }
        let embedding = Embedding(path: path, ids: ids, columnNames: (0..<values.cols).map { "PC\($0 + 1)" },
                                  values: values)
        do {
            try embedding.checkUniqueIds()
        } catch {
            var seen: [String: Int] = [:]
            for (i, id) in ids.enumerated() {
                if let first = seen.updateValue(i, forKey: id) {
                    throw HarmonyError.fileFormat("\(sidecar), line \(idLines[i]): duplicate cell id '\(id)' (already on line \(idLines[first]))")
                }
            }
            throw error
        }
        return embedding
    }

    /// The bytes of a version 1.0 `.npy` file holding `matrix` in C order, as '<f4' or '<f8' by element type.
    public static func encode<T: BinaryFloatingPoint>(_ matrix: Matrix<T>) -> [UInt8] {
        let width = MemoryLayout<T>.size
        precondition(width == 4 || width == 8, "npy output supports Float and Double")
        var dict = "{'descr': '<f\(width)', 'fortran_order': False, 'shape': (\(matrix.rows), \(matrix.cols)), }"
        // Pad with spaces so that magic (6) + version (2) + length (2) + header + "\n" is a multiple of 64.
        while (10 + dict.utf8.count + 1) % 64 != 0 { dict += " " }
        dict += "\n"
        var out = magic + [1, 0, UInt8(dict.utf8.count & 0xff), UInt8(dict.utf8.count >> 8)] + Array(dict.utf8)
        out.reserveCapacity(out.count + matrix.values.count * width)
        matrix.values.withUnsafeBytes { out.append(contentsOf: $0) }
        return out
    }

    /// The text of a key's value in the header dict: the quoted string, the bare word, or the tuple's inside.
    private static func headerValue(_ key: String, in header: String, path: String) throws -> String {
        let needle = Array("'\(key)'")
        let chars = Array(header)
        guard let at = (0...max(0, chars.count - needle.count)).first(where: { chars[$0..<min(chars.count, $0 + needle.count)].elementsEqual(needle) }) else {
            throw HarmonyError.fileFormat("\(path): the .npy header has no '\(key)' entry")
        }
        var rest = chars[(at + needle.count)...].drop { $0 == " " || $0 == ":" }
        if rest.first == "'" || rest.first == "\"" {
            let q = rest.removeFirst()
            return String(rest.prefix { $0 != q })
        }
        if rest.first == "(" { return String(rest.dropFirst().prefix { $0 != ")" }) }
        return String(rest.prefix { $0 != "," && $0 != "}" }).trimmingSpaces
    }
}
