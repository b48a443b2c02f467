import CZlib

// Gzip data as our writers and pigz produce it: one or more members back to back (`Gzip.compress` writes one per
// 8 MiB piece), possibly followed by zero bytes (some tools pad to a block size). Zero padding may also sit between
// members. Data that ends inside a member is truncated, which must be an error, not a short file.

/// A streaming gzip inflater for data of one or more members, fed in pieces of any size: the one inflater behind
/// whole-file reads (`FileBytes`) and line-by-line reads (`LineChunks`).
///
/// Feed it with `inflate(_:into:)` while input remains, then call `finish(into:)` until it returns 0: that drains
/// what zlib still holds and throws when the data ended inside a member.
final class GzipInflater {
    /// The file named in error messages.
    let path: String
    // At a fixed address: zlib's internal state points back at its stream.
    private let stream: UnsafeMutablePointer<z_stream>
    // Whether the last member ended: zero bytes are padding, and the next other byte starts a member.
    private var memberEnded = false

    /// A fresh inflater for the data of `path`.
    init(path: String) throws {
        self.path = path
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        // windowBits 15 + 32: a gzip (or zlib) header, recognized automatically.
        guard inflateInit2_(stream, 15 + 32, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            stream.deallocate()
            throw HarmonyError.io("\(path): cannot start the decompressor")
        }
    }

    deinit {
        inflateEnd(stream)
        stream.deallocate()
    }

    /// Inflates from `input` into `output` until one of them is used up or a member ends; returns the bytes read
    /// and written. Padding after a member is skipped and the next member started. With both non-empty, it always
    /// reads or writes something.
    func inflate(_ input: UnsafeBufferPointer<UInt8>,
                 into output: UnsafeMutableBufferPointer<UInt8>) throws -> (read: Int, written: Int) {
        var read = 0
        if memberEnded {
            while read < input.count && input[read] == 0 { read += 1 }
            if read == input.count { return (read, 0) }
            guard inflateReset(stream) == Z_OK else { throw HarmonyError.fileFormat("\(path): cannot decompress") }
            memberEnded = false
        }
        stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress).map { $0 + read }
        stream.pointee.avail_in = UInt32(min(input.count - read, Int(UInt32.max)))
        stream.pointee.next_out = output.baseAddress
        stream.pointee.avail_out = UInt32(min(output.count, Int(UInt32.max)))
        let before = (stream.pointee.avail_in, stream.pointee.avail_out)
        let rc = CZlib.inflate(stream, Z_NO_FLUSH)
        read += Int(before.0 - stream.pointee.avail_in)
        let written = Int(before.1 - stream.pointee.avail_out)
        switch rc {
        case Z_STREAM_END:
            memberEnded = true
        case Z_OK, Z_BUF_ERROR:
            // Z_BUF_ERROR: no progress without more input or more room; the caller brings either.
            break
        default:
            let reason = stream.pointee.msg.map { String(cString: $0) } ?? "zlib error \(rc)"
            throw HarmonyError.fileFormat("\(path): cannot decompress: \(reason)")
        }
        return (read, written)
    }

    /// After the last input: writes into `output` what is still held and returns its size; 0 once nothing is
    /// left, after checking that the data ended after a member (else `fileFormat`: truncated).
    func finish(into output: UnsafeMutableBufferPointer<UInt8>) throws -> Int {
        if memberEnded { return 0 }
        let written = try inflate(UnsafeBufferPointer(start: nil, count: 0), into: output).written
        if written == 0 && !memberEnded { throw HarmonyError.fileFormat("\(path): the gzip data is truncated") }
        return written
    }
}
