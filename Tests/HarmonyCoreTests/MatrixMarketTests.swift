import Foundation
import XCTest
@testable import HarmonyCore

/// The MatrixMarket reader's parallel parse: pieces cut into parts at every possible line, the parts' merge, the
/// fall back to the line-by-line parse (errors, cell order broken, blank lines), and the fast path for plain lines.
/// Expected matrices are built here from the entries written, never by the reader.
final class MatrixMarketTests: XCTestCase {
    /// Entries (gene, cell, value), 1-based, of a genes x cells matrix.
    typealias Entry = (gene: Int, cell: Int, value: Float)

    /// A matrix in cell order with genes sorted within a cell; indices and counts of many lengths.
    static func entriesInCellOrder(genes: Int, cells: Int, seed: UInt64) -> [Entry] {
        var g = SeededGenerator(seed: seed)
        var entries: [Entry] = []
        for cell in 1...cells {
            var gene = 0
            while true {
                gene += 1 + g.below(genes / 8 + 1)
                guard gene <= genes else { break }
                let digits = 1 + g.below(7)
                entries.append((gene, cell, Float(1 + g.below(Int(pow(10.0, Double(digits)))))))
            }
        }
        return entries
    }

    static func text(_ entries: [Entry], genes: Int, cells: Int, line: (Entry) -> String = { "\($0.gene) \($0.cell) \(Int($0.value))" },
                     ending: String = "\n") -> String {
        "%%MatrixMarket matrix coordinate integer general\n% a comment\n\(genes) \(cells) \(entries.count)\n"
            + entries.map(line).joined(separator: ending) + ending
    }

    /// The CSR over cells of `entries`, built directly: per cell, entries sorted by gene.
    static func expectedRows(_ entries: [Entry], genes: Int, cells: Int) -> SparseRows {
        var starts = [0], columns: [Int32] = [], values: [Float] = []
        for cell in 1...cells {
            for entry in entries.filter({ $0.cell == cell }).sorted(by: { $0.gene < $1.gene }) {
                columns.append(Int32(entry.gene - 1))
                values.append(entry.value)
            }
            starts.append(columns.count)
        }
        return SparseRows(unchecked: genes, rowStarts: starts, columns: columns, values: values)
    }

    /// Parts of every size from one byte (a cut after every line) to longer than any line, so that a cut lands on
    /// each line boundary, in pieces of several sizes, plain and gzip: always the same CSR.
    func testPartsCutAtEveryLineReadTheSame() throws {
        let dir = try IOTestDirectory()
        defer { dir.remove() }
        let (genes, cells) = (40_000, 30)
        let entries = Self.entriesInCellOrder(genes: genes, cells: cells, seed: 11)
        let expected = Self.expectedRows(entries, genes: genes, cells: cells)
        let text = Self.text(entries, genes: genes, cells: cells)
        let plain = try dir.write("m.mtx", text)
        let packed = try dir.write("m.mtx.gz", bytes: try Gzip.compress(Array(text.utf8)))
        let longest = text.split(separator: "\n").map(\.utf8.count).max()!
        for path in [plain, packed] {
            for chunk in [64, 333, 16 << 20] {
                for part in 1...(longest + 2) {
                    let m = try MatrixMarket.readCellsByGenes(path, chunkBytes: chunk, partBytes: part)
                    XCTAssertEqual(m, expected, "\(path), pieces of \(chunk), parts of \(part)")
                }
            }
        }
    }

    /// A bad line anywhere in a piece (also in its second half, in a later part) is reported with its own line
    /// number, however the piece is cut; so are an entry beyond the declared count and a file cut short.
    func testErrorsNameTheirLineWhereverThePartsAreCut() throws {
        let dir = try IOTestDirectory()
        defer { dir.remove() }
        let (genes, cells) = (500, 40)
        let entries = Self.entriesInCellOrder(genes: genes, cells: cells, seed: 12)
        let header = 3
        for bad in [1, entries.count / 3, entries.count / 2 + 1, entries.count - 2, entries.count] {
            var lines = entries.map { "\($0.gene) \($0.cell) \(Int($0.value))" }
            lines[bad - 1] = "\(genes + 1) \(entries[bad - 1].cell) 1"
            let path = try dir.write("bad\(bad).mtx", "%%MatrixMarket matrix coordinate integer general\n% c\n"
                                     + "\(genes) \(cells) \(entries.count)\n" + lines.joined(separator: "\n") + "\n")
            for part in [1, 7, 100, 1 << 20] {
                for chunk in [200, 16 << 20] {
                    XCTAssertThrowsError(try MatrixMarket.readCellsByGenes(path, chunkBytes: chunk, partBytes: part)) {
                        XCTAssertTrue("\($0)".contains("line \(header + bad): expected a gene index in 1...\(genes)"),
                                      "bad line \(bad), parts of \(part), pieces of \(chunk): \($0)")
                    }
                }
            }
        }
        let body = entries.map { "\($0.gene) \($0.cell) \(Int($0.value))" }.joined(separator: "\n") + "\n"
        let tooMany = try dir.write("many.mtx", "%%MatrixMarket matrix coordinate integer general\n\(genes) \(cells) "
                                    + "\(entries.count - 5)\n" + body)
        let tooFew = try dir.write("few.mtx", "%%MatrixMarket matrix coordinate integer general\n\(genes) \(cells) "
                                   + "\(entries.count + 1)\n" + body)
        for part in [1, 9, 1 << 20] {
            XCTAssertThrowsError(try MatrixMarket.readCellsByGenes(tooMany, chunkBytes: 256, partBytes: part)) {
                XCTAssertTrue("\($0)".contains("line \(2 + entries.count - 4): more entries than the \(entries.count - 5)"), "\($0)")
            }
            XCTAssertThrowsError(try MatrixMarket.readCellsByGenes(tooFew, chunkBytes: 256, partBytes: part)) {
                XCTAssertTrue("\($0)".contains("the file ends after \(entries.count) of its \(entries.count + 1) entries"), "\($0)")
            }
        }
    }

    /// Lines the parts do not take alone: cell order broken in a later part (the counting sort takes over),
    /// blank lines, Windows line ends, tabs and runs of blanks, no final newline, numbers of more than eight
    /// digits, a real-valued file; each reads as the matrix written, for parts of every few bytes.
    func testLinesThePartsHandOverStillRead() throws {
        let dir = try IOTestDirectory()
        defer { dir.remove() }
        let (genes, cells) = (300, 25)
        let entries = Self.entriesInCellOrder(genes: genes, cells: cells, seed: 13)
        let expected = Self.expectedRows(entries, genes: genes, cells: cells)
        var unsorted = entries
        unsorted.insert(unsorted.remove(at: unsorted.count / 5), at: unsorted.count * 3 / 4)
        // In cell order, but the genes of some cells (one at a part's start) decreasing.
        let genesDown = (1...cells).flatMap { cell in
            let own = entries.filter { $0.cell == cell }
            return cell % 4 == 0 ? Array(own.reversed()) : own
        }
        let plain = { (e: Entry) in "\(e.gene) \(e.cell) \(Int(e.value))" }
        let variants: [(String, String)] = [
            ("unsorted", Self.text(unsorted, genes: genes, cells: cells)),
            ("genes decreasing in some cells", Self.text(genesDown, genes: genes, cells: cells)),
            ("blank lines", Self.text(entries, genes: genes, cells: cells, ending: "\n\n")),
            ("crlf", Self.text(entries, genes: genes, cells: cells, ending: "\r\n")),
            ("blanks", Self.text(entries, genes: genes, cells: cells, line: { "\t\($0.gene)  \($0.cell)\t\(Int($0.value)) " })),
            ("no final newline", String(Self.text(entries, genes: genes, cells: cells).dropLast())),
            ("long numbers", Self.text(entries, genes: genes, cells: cells, line: { "000000000\($0.gene) 0000000\($0.cell) 00000000\(Int($0.value))" })),
            ("mixed", Self.text(entries, genes: genes, cells: cells, line: { $0.cell % 3 == 0 ? " " + plain($0) : plain($0) })),
            ("real", Self.text(entries, genes: genes, cells: cells).replacingOccurrences(of: "integer", with: "real")),
        ]
        for (name, text) in variants {
            let path = try dir.write("v.mtx", text)
            for part in [1, 5, 13, 64, 1 << 20] {
                let m = try MatrixMarket.readCellsByGenes(path, chunkBytes: 512, partBytes: part)
                XCTAssertEqual(m, expected, "\(name), parts of \(part)")
            }
        }
        // A gene listed twice for one cell, late in the file: the check of the genes' order still catches it.
        var twice = entries
        let late = twice.count * 4 / 5
        twice[late + 1] = (twice[late].gene, twice[late].cell, 5)
        let path = try dir.write("twice.mtx", Self.text(twice, genes: genes, cells: cells))
        for part in [1, 5, 1 << 20] {
            XCTAssertThrowsError(try MatrixMarket.readCellsByGenes(path, chunkBytes: 512, partBytes: part)) {
                XCTAssertTrue("\($0)".contains("lists gene \(twice[late].gene - 1) twice"), "parts of \(part): \($0)")
            }
        }
    }

    /// The plain-line fast path agrees with the general parse on lines it takes (every length of each number from
    /// one to eight digits) and leaves to it every line it does not take (nine digits, values from 2^24, other
    /// separators), on random lines.
    func testPlainLinesAgreeWithTheGeneralParse() {
        var g = SeededGenerator(seed: 14)
        let shape = MatrixMarket.Shape(genes: 99_999_999, cells: 99_999_999, entries: 1, pattern: false, integers: true)
        var general = shape
        general.integers = false
        let separators = [" ", " ", " ", "  ", "\t"]
        var taken = 0
        for trial in 0..<30_000 {
            let numbers = (0..<3).map { _ in String(g.below(Int(pow(10.0, Double(1 + g.below(9)))))) }
            let line = numbers[0] + separators[g.below(5)] + numbers[1] + separators[g.below(5)] + numbers[2]
                + ["\n", "\r\n", " \n", "x\n"][g.below(4)] + String(repeating: "7 ", count: 16)
            var bytes = Array(line.utf8).map { CChar(bitPattern: $0) }
            bytes.append(0)
            bytes.withUnsafeBufferPointer { b in
                let end = b.baseAddress! + b.count
                var (g1, c1, v1) = (0, 0, Float(-1)), (g2, c2, v2) = (0, 0, Float(-1))
                var p2 = b.baseAddress!
                let problem = MatrixMarket.entry(&p2, before: end, general, gene: &g2, cell: &c2, value: &v2)
                if let length = MatrixMarket.plainEntry(b.baseAddress!, before: end, shape, gene: &g1, cell: &c1, value: &v1) {
                    taken += 1
                    XCTAssertEqual(problem, .none, "trial \(trial): \(line)")
                    XCTAssertEqual(b.baseAddress! + length, p2, "trial \(trial): \(line)")
                    XCTAssertEqual([g1, c1], [g2, c2], "trial \(trial): \(line)")
                    XCTAssertEqual(v1, v2, "trial \(trial): \(line)")
                    XCTAssertEqual(b[length], 10)
                } else {
                    let plain = line.hasPrefix(numbers.joined(separator: " ") + "\n") && numbers.allSatisfy { $0.count <= 8 }
                        && numbers.joined(separator: " ").utf8.count < 24
                        && Int(numbers[0])! >= 1 && Int(numbers[1])! >= 1 && Int(numbers[2])! < 1 << 24
                    XCTAssertFalse(plain, "trial \(trial): a plain line left to the general parse: \(line)")
                    XCTAssertEqual([g1, c1], [0, 0], "nothing set")
                    XCTAssertEqual(v1, -1, "nothing set")
                }
            }
        }
        XCTAssertGreaterThan(taken, 1000)
    }

    /// The eight-bytes-at-a-time newline count equals a byte-by-byte count, at every offset and length.
    func testNewlineCountAgreesWithTheBytes() {
        var g = SeededGenerator(seed: 15)
        let bytes = (0..<300).map { _ in CChar(bitPattern: [10, 10, 32, 48, 0x8A, 0x0B, 9][g.below(7)]) }
        bytes.withUnsafeBufferPointer { b in
            for start in 0..<20 {
                for count in 0...(b.count - start) {
                    let expected = b[start..<(start + count)].filter { $0 == 10 }.count
                    XCTAssertEqual(MatrixMarket.newlines(b.baseAddress! + start, count: count), expected)
                }
            }
        }
    }
}
