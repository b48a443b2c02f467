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

    /// The numbers of a `.npy` file as float64 (float32 files are widened exactly), row-major.
    /// Fortran-ordered files are transposed into row order; big-endian files are byte-swapped.
    public static func readMatrix(_ path: String) throws -> Matrix<Double> {
        let bytes = try FileBytes.read(path)
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
        guard bytes.count - dataStart >= needed.partialValue else {
            throw HarmonyError.fileFormat("\(path): the file holds \(bytes.count - dataStart) data bytes; a \(rows) x \(cols) '\(descr)' array needs \(needed.partialValue)")
        }
        let swap = order == ">"
        var values = [Double](repeating: 0, count: rows * cols)
        bytes.withUnsafeBytes { raw in
            let data = UnsafeRawBufferPointer(rebasing: raw[dataStart...])
            for i in 0..<(rows * cols) {
                let v: Double
                if width == 4 {
                    let bits = data.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self)
                    v = Double(Float(bitPattern: swap ? bits.byteSwapped : bits))
                } else {
                    let bits = data.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)
                    v = Double(bitPattern: swap ? bits.byteSwapped : bits)
                }
                // Fortran order stores column after column: element i is (i % rows, i / rows).
                values[fortran ? (i % rows) * cols + i / rows : i] = v
            }
        }
        return Matrix(rows: rows, cols: cols, values: values)
    }

    /// Reads `path` as an embedding: checks every value is finite (naming row and column), takes the ids from
    /// the sidecar file if there is one (else "0", "1", ...) and names the dimensions PC1..PCd.
    public static func readEmbedding(_ path: String) throws -> Embedding {
        let values = try readMatrix(path)
        for i in 0..<values.values.count where !values.values[i].isFinite {
            throw HarmonyError.fileFormat(
                "\(path), row \(i / values.cols), column \(i % values.cols): non-finite value \(values.values[i])")
        }
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
