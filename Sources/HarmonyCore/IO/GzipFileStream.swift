#if canImport(Glibc)
import Glibc
#endif

// A .gz output too large to hold: bytes are appended, compressed as 8 MiB gzip members (the same pieces and level as
// `Gzip.compress` for a large output, so the bytes are reproducible) and written to a hidden temporary file next to
// the destination; `commit` fsyncs and renames it into place, `discard` removes it. Nothing appears at the
// destination unless the whole stream was written.

/// A streamed, atomically committed gzip file.
public final class GzipFileStream {
    private let path: String
    private let temp: String
    private var fd: Int32
    private var pending: [UInt8] = []

    /// Starts writing `path` (through a temporary file).
    public init(path: String) throws {
        self.path = path
        (fd, temp) = try AtomicFileGroup.createTemporary(for: path)
        pending.reserveCapacity(Gzip.pieceSize)
    }

    deinit { if fd >= 0 { close(fd); unlink(temp) } }

    /// Appends uncompressed bytes.
    public func write(_ bytes: some Collection<UInt8>) throws {
        pending.append(contentsOf: bytes)
        if pending.count >= Gzip.pieceSize { try flush(final: false) }
    }

    /// Appends the UTF-8 bytes of `text`.
    public func write(_ text: String) throws { try write(text.utf8) }

    /// Writes the rest, syncs and renames the file into place.
    public func commit() throws {
        try flush(final: true)
        let descriptor = fd
        fd = -1
        try AtomicFileGroup.publish(descriptor, temporary: temp, as: path)
    }

    // Compresses whole pieces (all of `pending` when final) and writes them.
    private func flush(final: Bool) throws {
        var start = 0
        while pending.count - start >= Gzip.pieceSize || (final && start < pending.count) {
            let end = min(pending.count, start + Gzip.pieceSize)
            let member = try pending.withUnsafeBufferPointer {
                try Gzip.member(UnsafeBufferPointer(rebasing: $0[start..<end]), level: 1)
            }
            try AtomicFileGroup.writeAll(member, to: fd, reportedAs: path)
            start = end
        }
        pending.removeFirst(start)
    }
}
