import HarmonySystem
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
    // The inflater of a gzip file; nil for plain text.
    private var gzip: GzipInflater?
    private var input: [UInt8]
    private var inputStart = 0, inputEnd = 0, endOfFile = false, finished = false
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
            gzip = try GzipInflater(path: path)
        }
    }

    deinit {
        for buffer in buffers { buffer.deallocate() }
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
        let room = UnsafeMutableBufferPointer(rebasing: piece[at..<limit])
        while true {
            if inputStart == inputEnd {
                if endOfFile { return try gzip.finish(into: room) }
                try fill()
                continue
            }
            let step = try input.withUnsafeBufferPointer { inBuf in
                try gzip.inflate(UnsafeBufferPointer(rebasing: inBuf[inputStart..<inputEnd]), into: room)
            }
            inputStart += step.read
            if step.written > 0 { return step.written }
        }
    }

    // Reads the next block of the file into `input` (which must be used up).
    private func fill() throws {
        inputStart = 0
        inputEnd = 0
        do {
            inputEnd = try input.withUnsafeMutableBytes { buffer in
                try SystemCall.retrying("read") { read(fd, buffer.baseAddress!, buffer.count) }
            }
        } catch let error as SystemCallError {
            throw HarmonyError.io("\(path): cannot read: \(error.reason)")
        }
        endOfFile = inputEnd == 0
    }
}
