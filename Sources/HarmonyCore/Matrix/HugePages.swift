#if canImport(Glibc)
import Glibc
#endif

// Large arrays read at random rows, backed by transparent huge pages where the kernel offers them.
//
// They also cost less to create: on the test machines (virtual machines) first touching 400 MB took 340-390 ms
// in 4 KB pages and about 100 ms in 2 MB pages, so the fit's other N-sized arrays (the unit rows of the k-means
// start, the corrected embedding) are advised too.
//
// A clustering round reads the rows of R (N x K Floats, 400 MB at 1M cells) in block order, that is scattered
// over the whole array. With 4 KB pages nearly every row costs a TLB miss (a page walk, twice as long in a
// virtual machine); 2 MB pages cover the array with a few hundred TLB entries. Linux backs an anonymous
// mapping with huge pages at first touch when it was marked with madvise(MADV_HUGEPAGE) before (the
// `madvise` setting of /sys/kernel/mm/transparent_hugepage/enabled) or always (`always`); elsewhere the
// advice is ignored and nothing changes. Arrays this large come from their own mmap in glibc's malloc, so
// the advice covers nothing else.

/// Allocation of large arrays with the huge-page advice.
enum HugePages {
    /// Huge page size on x86-64 and most arm64 kernels.
    static let size = 2 << 20

    /// `count` values in memory advised for huge pages before it is first touched, set by `fill`, which must
    /// initialize every element of the buffer it gets.
    static func array<T: BinaryFloatingPoint>(count: Int, fill: (UnsafeMutableBufferPointer<T>) -> Void) -> [T] {
        Array(unsafeUninitializedCapacity: count) { buffer, initialized in
            if let base = buffer.baseAddress { advise(UnsafeMutableRawPointer(base), bytes: count * MemoryLayout<T>.stride) }
            fill(buffer)
            initialized = count
        }
    }

    /// `count` zeros, in memory advised for huge pages, written by the threads of `runner`.
    static func zeroed<T: BinaryFloatingPoint>(_ type: T.Type = T.self, count: Int, runner: TaskRunner) -> [T] {
        array(count: count) { buffer in
            inPieces(buffer, runner: runner) { piece, _ in piece.initialize(repeating: 0) }
        }
    }

    /// A copy of `values` in memory advised for huge pages, written by the threads of `runner`.
    static func copied<T: BinaryFloatingPoint>(_ values: [T], runner: TaskRunner) -> [T] {
        values.withUnsafeBufferPointer { source in
            array(count: values.count) { buffer in
                inPieces(buffer, runner: runner) { piece, start in
                    _ = piece.initialize(from: UnsafeBufferPointer(rebasing: source[start..<start + piece.count]))
                }
            }
        }
    }

    // Calls `body(piece, start)` for pieces of `buffer` of a few huge pages each, on the threads of `runner`: the
    // first touch of a large array (the kernel clearing its pages: 0.3-0.8 s for 400 MB on the test VMs) then
    // runs on every thread instead of one.
    private static func inPieces<T>(_ buffer: UnsafeMutableBufferPointer<T>, runner: TaskRunner,
                                    _ body: (UnsafeMutableBufferPointer<T>, Int) -> Void) {
        let perPiece = max(1, 4 * size / MemoryLayout<T>.stride)
        runner.run(TaskRunner.taskCount(buffer.count, perTask: perPiece)) { piece in
            let start = piece * perPiece
            body(UnsafeMutableBufferPointer(rebasing: buffer[start..<min(buffer.count, start + perPiece)]), start)
        }
    }

    /// Advises the whole huge pages inside [start, start + bytes).
    private static func advise(_ start: UnsafeMutableRawPointer, bytes: Int) {
        let first = (Int(bitPattern: start) + size - 1) / size * size
        let end = (Int(bitPattern: start) + bytes) / size * size
        guard end > first, let pointer = UnsafeMutableRawPointer(bitPattern: first) else { return }
        #if canImport(Glibc)
        _ = madvise(pointer, end - first, MADV_HUGEPAGE)
        #endif
    }
}
