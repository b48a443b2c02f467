// Text output uses Swift's `description` of Float/Double, which is the shortest decimal string that reads back
// to the same binary value (round-trip exact with strtod). Rows are formatted in fixed chunks on all cores
// and concatenated in order, so the bytes do not depend on the thread count.

/// Encodes a cells x columns table with cell ids into the bytes of the format implied by a file name.
public enum MatrixWriter {
    /// Adds the file(s) for `values` to `group`: one text file (with header `idHeader` + `columnNames`,
    /// gzip-compressed for `.gz`), or a `.npy` file plus its ids sidecar (`NumpyFile.sidecarPath(for:)`).
    public static func add<T: BinaryFloatingPoint & LosslessStringConvertible & Sendable>(
        _ values: Matrix<T>, ids: [String], columnNames: [String], idHeader: String = "cell_id",
        to path: String, in group: inout AtomicFileGroup
    ) throws {
        precondition(ids.count == values.rows && columnNames.count == values.cols, "table parts disagree")
        switch try MatrixFileFormat(path: path) {
        case .npy:
            group.add(NumpyFile.encode(values), to: path)
            var idBytes: [UInt8] = []
            for id in ids { idBytes.append(contentsOf: id.utf8); idBytes.append(UInt8(ascii: "\n")) }
            group.add(idBytes, to: NumpyFile.sidecarPath(for: path))
        case .text(let separator, let gzip):
            let text = encodeText(values, ids: ids, columnNames: columnNames, idHeader: idHeader, separator: separator)
            group.add(gzip ? try Gzip.compress(text) : text, to: path)
        }
    }

    /// Writes `values` to `path` (and, for `.npy`, its ids sidecar) atomically.
    public static func write<T: BinaryFloatingPoint & LosslessStringConvertible & Sendable>(
        _ values: Matrix<T>, ids: [String], columnNames: [String], idHeader: String = "cell_id", to path: String
    ) throws {
        var group = AtomicFileGroup()
        try add(values, ids: ids, columnNames: columnNames, idHeader: idHeader, to: path, in: &group)
        try group.commit()
    }

    /// The delimited text: a header line, then one line per row: id, then the shortest round-trip numbers.
    public static func encodeText<T: BinaryFloatingPoint & LosslessStringConvertible & Sendable>(
        _ values: Matrix<T>, ids: [String], columnNames: [String], idHeader: String, separator: UInt8
    ) -> [UInt8] {
        var out: [UInt8] = []
        out.append(contentsOf: idHeader.utf8)
        for name in columnNames { out.append(separator); out.append(contentsOf: name.utf8) }
        out.append(UInt8(ascii: "\n"))
        let rows = values.rows, cols = values.cols
        let chunkCount = max(1, min(64, rows / 1024))
        var pieces = [[UInt8]](repeating: [], count: chunkCount)
        values.values.withUnsafeBufferPointer { v in
            pieces.withUnsafeMutableBufferPointer { slots in
                TaskRunner(requested: 0).run(chunkCount) { chunk in
                    var piece: [UInt8] = []
                    let lo = chunk * rows / chunkCount, hi = (chunk + 1) * rows / chunkCount
                    piece.reserveCapacity((hi - lo) * (cols * 12 + 16))
                    for r in lo..<hi {
                        piece.append(contentsOf: ids[r].utf8)
                        for c in 0..<cols {
                            piece.append(separator)
                            piece.append(contentsOf: v[r * cols + c].description.utf8)
                        }
                        piece.append(UInt8(ascii: "\n"))
                    }
                    slots[chunk] = piece
                }
            }
        }
        for piece in pieces { out.append(contentsOf: piece) }
        return out
    }
}
