import CZlib
#if canImport(Glibc)
import Glibc
#endif

/// A text file, plain or gzip (detected by its magic bytes), read in pieces of whole lines: the way to parse a file
/// too large to hold twice, or to parse while the next piece is being read or inflated (`TaskRunner.pipeline`).
///
/// Each piece holds at most about `chunkBytes` bytes, ends after a newline (except the file's last piece) and is
/// followed by a NUL byte, so a scanner can stop on NUL without bounds checks. A line longer than `chunkBytes` is
/// an error. Gzip files may hold several members (as pigz and `GzipFileStream` write them).
final class LineChunks {
    let path: String
    let chunkBytes: Int
    private let fd: Int32
    // The inflater of a gzip file, at a fixed address (zlib's state points back at its stream).
    private var gzip: UnsafeMutablePointer<z_stream>?
    private var input: [UInt8]
    private var inputStart = 0, inputEnd = 0, endOfFile = false, finished = false
    // Whether a gzip member has started and not ended: the end of the file there means it was truncated.
    private var midMember = false
    // The start of a line cut by the end of the previous piece (shorter than chunkBytes).
    private var carry: [UInt8] = []
    // Two buffers of 2 chunkBytes + 1 (a carry, a chunk, the NUL), used in turn.
    private let buffers: [UnsafeMutableBufferPointer<UInt8>]
    private var turn = 0

    /// Opens `path`; nothing is read until `next()`.
    init(_ path: String, chunkBytes: Int = 16 << 20) throws {
        self.path = path
        self.chunkBytes = max(1, chunkBytes)
        fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw HarmonyError.io("\(path): cannot open for reading: \(String(cString: strerror(errno)))") }
        input = [UInt8](repeating: 0, count: 1 << 20)
        buffers = (0..<2).map { _ in .allocate(capacity: 2 * max(1, chunkBytes) + 1) }
        try fill()
        if inputEnd - inputStart >= 2, input[0] == 0x1f, input[1] == 0x8b {
            let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
            stream.initialize(to: z_stream())
            // windowBits 15 + 32: a gzip (or zlib) header, recognized automatically.
            guard inflateInit2_(stream, 15 + 32, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
                stream.deallocate()
                close(fd)
                throw HarmonyError.io("\(path): cannot start the decompressor")
            }
            gzip = stream
        }
    }

    deinit {
        for buffer in buffers { buffer.deallocate() }
        if let gzip {
            inflateEnd(gzip)
            gzip.deallocate()
        }
        close(fd)
    }

    /// The next piece, NUL included (the text is all but the last byte), or nil after the last. The bytes stay
    /// valid until `next()` has been called twice more: the pieces alternate between two buffers, which lets one
    /// piece be parsed while the next is read (`TaskRunner.pipeline`) without allocating a buffer per piece.
    func next() throws -> UnsafeBufferPointer<UInt8>? {
        guard !finished else { return nil }
        let piece = buffers[turn]
        turn = 1 - turn
        piece.baseAddress!.update(from: carry, count: carry.count)
        var filled = carry.count
        let limit = chunkBytes + carry.count
        while filled < limit {
            let got = try produce(into: piece, at: filled, upTo: limit)
            if got == 0 { break }
            filled += got
        }
        guard filled < limit else {
            // Cut after the last newline; the rest starts the next piece.
            guard let last = piece[0..<filled].lastIndex(of: 10), filled - (last + 1) < chunkBytes else {
                throw HarmonyError.fileFormat("\(path): a line is longer than \(chunkBytes) bytes")
            }
            carry = Array(piece[(last + 1)..<filled])
            piece[last + 1] = 0
            return UnsafeBufferPointer(rebasing: piece[0...(last + 1)])
        }
        finished = true
        carry = []
        guard filled > 0 else { return nil }
        piece[filled] = 0
        return UnsafeBufferPointer(rebasing: piece[0...filled])
    }

    // Up to `limit - at` bytes of text into piece[at...]; 0 at the end of the file.
    private func produce(into piece: UnsafeMutableBufferPointer<UInt8>, at: Int, upTo limit: Int) throws -> Int {
        guard let gzip else {
            if inputStart == inputEnd && !endOfFile { try fill() }
            let n = min(limit - at, inputEnd - inputStart)
            input.withUnsafeBufferPointer { (piece.baseAddress! + at).update(from: $0.baseAddress! + inputStart, count: n) }
            inputStart += n
            return n
        }
        while true {
            if inputStart == inputEnd {
                if endOfFile {
                    if midMember { throw HarmonyError.fileFormat("\(path): the gzip data is truncated") }
                    return 0
                }
                try fill()
                continue
            }
            let (rc, read, wrote) = input.withUnsafeMutableBufferPointer { inBuf in
                gzip.pointee.next_in = inBuf.baseAddress! + inputStart
                gzip.pointee.avail_in = UInt32(inputEnd - inputStart)
                gzip.pointee.next_out = piece.baseAddress! + at
                gzip.pointee.avail_out = UInt32(limit - at)
                let rc = CZlib.inflate(gzip, Z_NO_FLUSH)
                return (rc, inputEnd - inputStart - Int(gzip.pointee.avail_in), limit - at - Int(gzip.pointee.avail_out))
            }
            inputStart += read
            midMember = rc != Z_STREAM_END
            switch rc {
            case Z_STREAM_END:
                // Another member may follow; trailing zero padding ends the data.
                try skipPadding()
                if inputStart < inputEnd {
                    guard inflateReset(gzip) == Z_OK else { throw HarmonyError.fileFormat("\(path): cannot decompress") }
                }
                if wrote > 0 { return wrote }
                if inputStart == inputEnd && endOfFile { return 0 }
            case Z_OK, Z_BUF_ERROR:
                if wrote > 0 { return wrote }
            default:
                let reason = gzip.pointee.msg.map { String(cString: $0) } ?? "zlib error \(rc)"
                throw HarmonyError.fileFormat("\(path): cannot decompress: \(reason)")
            }
        }
    }

    // Drops zero bytes after a gzip member, reading on when they reach the end of the buffer.
    private func skipPadding() throws {
        while true {
            while inputStart < inputEnd && input[inputStart] == 0 { inputStart += 1 }
            guard inputStart == inputEnd, !endOfFile else { return }
            try fill()
        }
    }

    // Reads the next block of the file into `input` (which must be used up).
    private func fill() throws {
        inputStart = 0
        inputEnd = 0
        while true {
            let n = input.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { throw HarmonyError.io("\(path): cannot read: \(String(cString: strerror(errno)))") }
            inputEnd = n
            endOfFile = n == 0
            return
        }
    }
}
