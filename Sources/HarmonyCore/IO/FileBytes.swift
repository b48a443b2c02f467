import CZlib

/// Whole-file reads that decompress gzip transparently (zlib's gzread passes plain files through).
public enum FileBytes {
    /// The bytes of `path`, decompressed if the file is gzip-compressed.
    public static func read(_ path: String) throws -> [UInt8] {
        guard let gz = gzopen(path, "rb") else {
            throw HarmonyError.io("\(path): cannot open for reading")
        }
        defer { gzclose(gz) }
        gzbuffer(gz, 1 << 17)
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = chunk.withUnsafeMutableBytes { gzread(gz, $0.baseAddress, UInt32($0.count)) }
            if n < 0 {
                var errnum: Int32 = 0
                let msg = String(cString: gzerror(gz, &errnum))
                throw HarmonyError.fileFormat("\(path): cannot decompress: \(msg)")
            }
            if n == 0 { break }
            out.append(contentsOf: chunk[0..<Int(n)])
        }
        return out
    }
}
