import HarmonySystem

/// Whole-file reads that decompress gzip transparently.
///
/// Plain files are read in one go into a buffer of their size; gzip files (detected by their magic bytes, not
/// their name) are inflated straight into a buffer that grows geometrically, without intermediate chunks.
public enum FileBytes {
    /// The bytes of `path`, decompressed if the file is gzip-compressed.
    public static func read(_ path: String) throws -> [UInt8] {
        let bytes = try readStored(path)
        guard bytes.count >= 2, bytes[0] == 0x1f, bytes[1] == 0x8b else { return bytes }
        return try inflate(bytes, path: path)
    }

    /// The bytes of `path` exactly as stored (no decompression).
    public static func readStored(_ path: String) throws -> [UInt8] {
        do {
            return try SystemCall.readFile(path)
        } catch let error as SystemCallError {
            throw HarmonyError.io("\(path): \(error.call == "open" ? "cannot open for reading" : "cannot read"): "
                                  + error.reason)
        }
    }

    /// Inflates gzip data (one or more concatenated members, as `Gzip.compress` and pigz write).
    static func inflate(_ compressed: [UInt8], path: String) throws -> [UInt8] {
        let inflater = try GzipInflater(path: path)
        var out = [UInt8](repeating: 0, count: max(1 << 16, compressed.count * 4))
        var produced = 0, consumed = 0
        // The output doubles whenever it is full.
        func growIfFull() {
            if produced == out.count { out.append(contentsOf: repeatElement(0, count: out.count)) }
        }
        try compressed.withUnsafeBufferPointer { input in
            while consumed < input.count {
                growIfFull()
                let step = try out.withUnsafeMutableBufferPointer { outBuf in
                    try inflater.inflate(UnsafeBufferPointer(rebasing: input[consumed...]),
                                         into: UnsafeMutableBufferPointer(rebasing: outBuf[produced...]))
                }
                consumed += step.read
                produced += step.written
            }
        }
        while true {
            growIfFull()
            let written = try out.withUnsafeMutableBufferPointer { outBuf in
                try inflater.finish(into: UnsafeMutableBufferPointer(rebasing: outBuf[produced...]))
            }
            if written == 0 { break }
            produced += written
        }
        out.removeLast(out.count - produced)
        return out
    }
}
