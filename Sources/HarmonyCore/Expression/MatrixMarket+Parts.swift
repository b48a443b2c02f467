#if canImport(Glibc)
import Glibc
#endif

// The parallel parse of one piece of MatrixMarket text (see MatrixMarket.swift): the piece is cut at line ends into
// parts, each part's newlines are counted when the piece is produced, and part k writes its entries from the index
// (entries before the piece) + (newlines of parts 0..<k). Parts never throw: a part that meets a blank line, a bad
// line, an entry beyond the declared count or a cell out of order stops and says it is not clean, and the merge
// parses the whole piece again line by line, which reports or handles what the part met.

extension MatrixMarket {
    /// One piece of whole lines, cut into parts at line ends.
    ///
    /// Its fields are set before its parts run (`plan`), and each part writes only its own slot of `results`; the
    /// merge reads them after every part is done. That is why it may cross threads.
    final class Piece: @unchecked Sendable {
        /// The text, then a NUL.
        let text: UnsafeBufferPointer<CChar>
        /// Part k is text[starts[k]..<starts[k + 1]]; the last start is the NUL's offset.
        let starts: [Int]
        /// Newlines in each part.
        let newlines: [Int]
        /// Whether the parts are parsed in parallel (else the piece is read line by line, in one part).
        var parallel = false
        /// The index of the first entry of each part, assuming each line before it holds one entry.
        private(set) var firstEntries: [Int] = []
        /// What each part found; slot k is written by part k only.
        let results: UnsafeMutableBufferPointer<PartResult>

        var partCount: Int { newlines.count }

        /// Cuts `text` (NUL-terminated) at the first line start at or after every `partBytes` bytes.
        init(_ text: UnsafeBufferPointer<CChar>, partBytes: Int) {
            self.text = text
            let base = text.baseAddress!, length = text.count - 1
            var starts = [0], newlines: [Int] = []
            var target = max(1, partBytes)
            while target < length, let newline = memchr(base + target - 1, 10, length - (target - 1)) {
                let start = UnsafeRawPointer(newline).assumingMemoryBound(to: CChar.self) + 1 - base
                guard start < length else { break }
                newlines.append(MatrixMarket.newlines(base + starts.last!, count: start - starts.last!))
                starts.append(start)
                target = start + max(1, partBytes)
            }
            newlines.append(MatrixMarket.newlines(base + starts.last!, count: length - starts.last!))
            starts.append(length)
            self.starts = starts
            self.newlines = newlines
            results = .allocate(capacity: newlines.count)
            results.initialize(repeating: PartResult())
        }

        deinit {
            _ = results.deinitialize()
            results.deallocate()
        }

        /// Sets where each part's entries start, the piece's first at `firstEntry`.
        func plan(firstEntry: Int) {
            var next = firstEntry
            firstEntries = newlines.map { count in
                defer { next += count }
                return next
            }
        }
    }

    /// What a part of a piece found.
    struct PartResult {
        /// Newlines passed and entries parsed.
        var lines = 0, entries = 0
        /// False when the part stopped at something it does not handle alone (see the file's header).
        var clean = true
        /// The part's entries as runs of one cell each, in order: the cell (1-based) and its number of entries.
        var runs: [(cell: Int, count: Int)] = []
        /// The genes (1-based) of its first and last entries, and whether genes increase within each cell's run.
        var firstGene = 0, lastGene = 0, ascending = true
    }

    /// Parses part `k` of `piece`, writing its entries from `piece.firstEntries[k]` on.
    static func parsePart(_ piece: Piece, _ k: Int, shape: Shape, into out: Entries) -> PartResult {
        var result = PartResult()
        let base = piece.text.baseAddress!
        let end = base + piece.text.count, stop = base + piece.starts[k + 1]
        var p = base + piece.starts[k]
        let first = piece.firstEntries[k]
        var e = first, lines = 0, cell = 0, runStart = first, previous = 0, ascending = true
        var g = 0, c = 0, v: Float = 1
        while true {
            skipSpace(&p, lines: &lines)
            if p >= stop { break }
            guard p.pointee != 0, e < shape.entries,
                  entry(&p, before: end, shape, gene: &g, cell: &c, value: &v) == .none, c >= cell else {
                result.clean = false
                break
            }
            if c != cell {
                if cell > 0 {
                    result.runs.append((cell, e - runStart))
                } else {
                    result.firstGene = g
                }
                cell = c
                runStart = e
            } else if g <= previous {
                ascending = false
            }
            previous = g
            out.genes[e] = Int32(g - 1)
            if !shape.pattern { out.values[e] = v }
            e += 1
        }
        if cell > 0 { result.runs.append((cell, e - runStart)) }
        result.lastGene = previous
        result.ascending = ascending
        result.lines = lines
        result.entries = e - first
        return result
    }

    /// The number of newline bytes in `count` bytes from `start`, eight at a time.
    static func newlines(_ start: UnsafePointer<CChar>, count: Int) -> Int {
        let raw = UnsafeRawPointer(start)
        var n = 0, i = 0
        while i + 8 <= count {
            // Bytes equal to '\n' become zero; a byte's top bit in `zero` is set exactly when the byte is zero (no
            // carry crosses bytes: the low seven bits plus 0x7F stay below 0x100).
            let x = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self) ^ 0x0A0A_0A0A_0A0A_0A0A
            let zero = ~(((x & 0x7F7F_7F7F_7F7F_7F7F) &+ 0x7F7F_7F7F_7F7F_7F7F) | x | 0x7F7F_7F7F_7F7F_7F7F)
            n += zero.nonzeroBitCount
            i += 8
        }
        while i < count {
            if start[i] == 10 { n += 1 }
            i += 1
        }
        return n
    }
}
