import Dispatch

// What the machine running a fit can do at best, measured on it: the floors `harmony bench` compares the fit
// with. Every floor is a sum of parts each timed at its own limit, on the fit's threads:
// - sgemm: one N x K x d product in 256-row blocks into a buffer that stays in cache, with and without the
//   nearest-centroid argmin over it;
// - the nearest-mean kernel of the k-means start (NearestMeanKernel: the same scores and argmin, never written);
// - exp: N x K lane-wise FastMath exponentials on data in cache;
// - memory: streaming read bandwidth over a buffer far larger than the last-level cache.
// The k-means start's floor is its ten Lloyd assignments, each at the faster of sgemm + argmin and the kernel. One Harmony2 iteration must at
// least: compute the logits once (sgemm) and their exponentials (exp), write them (N x K Floats), read them in
// every round, write R in the last round, and read R in the correction's two products (two sgemm of the same
// size). Float32 data throughout, as in the fit.

/// Floors of a fit's work measured on this machine.
public struct HardwareBound: Sendable {
    /// Streaming read bandwidth in bytes per second.
    public let bandwidth: Double
    /// Seconds of one N x K x d sgemm in 256-row blocks.
    public let gemmSeconds: Double
    /// The same with the argmin of every row (one Lloyd assignment through sgemm).
    public let gemmArgminSeconds: Double
    /// One Lloyd assignment by the nearest-mean kernel (no score matrix).
    public let nearestKernelSeconds: Double
    /// Seconds of N x K exponentials.
    public let expSeconds: Double
    /// Bytes of one N x K Float array.
    public let arrayBytes: Double

    /// The k-means start's floor: ten Lloyd assignments, each the faster way.
    public var kmeansStartSeconds: Double {
        Double(KMeansStart.lloydIterations) * min(gemmArgminSeconds, nearestKernelSeconds)
    }

    /// One Harmony2 iteration's floor with `rounds` clustering rounds (see the file header).
    public func iterationSeconds(rounds: Int) -> Double {
        let passes = Double(rounds) + 4  // write e, read it per round, write R, read R twice
        return 3 * gemmSeconds + expSeconds + passes * arrayBytes / bandwidth
    }

    /// Measures the floors for the cells of `embedding` (N x d) and K clusters on `threads` threads (0: every
    /// core); the best of 3 timings of each part.
    public static func measure(embedding: Matrix<Float>, clusters kc: Int, threads: Int) -> HardwareBound {
        let runner = TaskRunner(requested: threads)
        let n = embedding.rows, d = embedding.cols
        let zcos = embedding.values
        let means = Array(zcos.prefix(kc * d)) + [Float](repeating: 0.5, count: max(0, kc * d - zcos.count))
        let gemm = best { product(zcos: zcos, means: means, cells: n, dims: d, clusters: kc, argmin: false, runner: runner) }
        let gemmArgmin = best { product(zcos: zcos, means: means, cells: n, dims: d, clusters: kc, argmin: true, runner: runner) }
        let kernel = best { nearestKernel(zcos: zcos, means: means, cells: n, dims: d, clusters: kc, runner: runner) }
        let exp = best { exponentials(count: n * kc, runner: runner) }
        // 128 MB: four times the largest last-level caches of the machines this runs on.
        let readBytes = 1 << 27
        let buffer = [Float](repeating: 1, count: readBytes / 4)
        let read = best { streamRead(buffer, runner: runner) }
        return HardwareBound(bandwidth: Double(readBytes) / read, gemmSeconds: gemm, gemmArgminSeconds: gemmArgmin,
                             nearestKernelSeconds: kernel, expSeconds: exp, arrayBytes: Double(n * kc * 4))
    }

    private static func best(_ body: () -> Void) -> Double {
        var fastest = Double.infinity
        for _ in 0..<3 {
            let start = DispatchTime.now().uptimeNanoseconds
            body()
            fastest = min(fastest, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return fastest
    }

    /// zcos M^T in 256-row blocks per task of `TaskRunner.cellsPerTask` rows, optionally with each row's argmin.
    private static func product(zcos: [Float], means: [Float], cells n: Int, dims d: Int, clusters kc: Int,
                                argmin: Bool, runner: TaskRunner) {
        let rowsPerBlock = 256
        var sink = [Int32](repeating: 0, count: TaskRunner.taskCount(n))
        zcos.withUnsafeBufferPointer { zBuf in
            means.withUnsafeBufferPointer { mBuf in
                sink.withUnsafeMutableBufferPointer { sinkBuf in
                    let z = zBuf.baseAddress!, m = mBuf.baseAddress!, out = sinkBuf.baseAddress!
                    runner.runRanges(n) { t, start, end in
                        let scores = UnsafeMutablePointer<Float>.allocate(capacity: rowsPerBlock * kc)
                        let norms = UnsafeMutablePointer<Float>.allocate(capacity: kc)
                        norms.initialize(repeating: 1, count: kc)
                        defer { scores.deallocate(); norms.deallocate() }
                        var block = start, total: Int32 = 0
                        while block < end {
                            let len = min(rowsPerBlock, end - block)
                            BLAS.sgemm(transB: true, m: len, n: kc, k: d, a: z + block * d, lda: d, b: m, ldb: d,
                                       c: scores, ldc: kc)
                            if argmin {
                                for row in 0..<len {
                                    total &+= Int32(nearest(scores + row * kc, norms: norms, clusters: kc))
                                }
                            }
                            block += len
                        }
                        out[t] = total
                    }
                }
            }
        }
    }

    /// argmin_k norms_k - 2 dots_k over one row of dots (ties to the lowest k); the row is overwritten with
    /// the scores.
    @inline(__always)
    private static func nearest(_ line: UnsafeMutablePointer<Float>, norms norm: UnsafePointer<Float>,
                                clusters kc: Int) -> Int {
        var best8 = SIMD8<Float>(repeating: .infinity)
        var k = 0
        while k + 8 <= kc {
            let v = UnsafeRawPointer(norm + k).loadUnaligned(as: SIMD8<Float>.self)
                - 2 * UnsafeRawPointer(line + k).loadUnaligned(as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(line + k).storeBytes(of: v, as: SIMD8<Float>.self)
            best8.replace(with: v, where: v .< best8)
            k += 8
        }
        var best = best8.min()
        while k < kc {
            line[k] = norm[k] - 2 * line[k]
            best = Swift.min(best, line[k])
            k += 1
        }
        // The lowest index holding the minimum: first 8-lane group with a match, then its first lane.
        let target = SIMD8<Float>(repeating: best)
        k = 0
        while k + 8 <= kc {
            let hit = UnsafeRawPointer(line + k).loadUnaligned(as: SIMD8<Float>.self) .== target
            if any(hit) {
                for lane in 0..<8 where hit[lane] { return k + lane }
            }
            k += 8
        }
        while line[k] != best { k += 1 }
        return k
    }

    /// One Lloyd assignment of every row by NearestMeanKernel, in the fit's tasks.
    private static func nearestKernel(zcos: [Float], means: [Float], cells n: Int, dims d: Int, clusters kc: Int,
                                      runner: TaskRunner) {
        let kernel = NearestMeanKernel(means: means, dims: d, clusters: kc)
        var out = [Int32](repeating: 0, count: n)
        zcos.withUnsafeBufferPointer { zBuf in
            out.withUnsafeMutableBufferPointer { outBuf in
                let z = zBuf.baseAddress!, o = outBuf.baseAddress!
                runner.runRanges(n) { _, start, end in
                    kernel.nearest(rows: z + start * d, count: end - start, into: o + start)
                }
            }
        }
    }

    /// `count` FastMath exponentials, 8 lanes at a time over a 32 KB buffer in cache.
    private static func exponentials(count: Int, runner: TaskRunner) {
        let perTask = 1 << 20
        var sink = [Float](repeating: 0, count: TaskRunner.taskCount(count, perTask: perTask))
        sink.withUnsafeMutableBufferPointer { sinkBuf in
            let out = sinkBuf.baseAddress!
            runner.runRanges(count, perTask: perTask) { t, start, end in
                var acc = SIMD8<Float>.zero
                var x = SIMD8<Float>(-8, -7, -6, -5, -4, -3, -2, -1) / 16
                let step = SIMD8<Float>(repeating: -1e-7)
                for _ in 0..<((end - start) / 8) {
                    acc += FastMath.exp(x)
                    x += step
                }
                out[t] = acc.sum()
            }
        }
    }

    /// Sums `buffer` 8 floats at a time in fixed tasks.
    private static func streamRead(_ buffer: [Float], runner: TaskRunner) {
        let perTask = 1 << 18
        var sink = [Float](repeating: 0, count: TaskRunner.taskCount(buffer.count, perTask: perTask))
        buffer.withUnsafeBufferPointer { bBuf in
            sink.withUnsafeMutableBufferPointer { sinkBuf in
                let b = bBuf.baseAddress!, out = sinkBuf.baseAddress!
                runner.runRanges(buffer.count, perTask: perTask) { t, start, end in
                    var acc0 = SIMD8<Float>.zero, acc1 = SIMD8<Float>.zero
                    var i = start
                    while i + 16 <= end {
                        acc0 += UnsafeRawPointer(b + i).loadUnaligned(as: SIMD8<Float>.self)
                        acc1 += UnsafeRawPointer(b + i + 8).loadUnaligned(as: SIMD8<Float>.self)
                        i += 16
                    }
                    out[t] = (acc0 + acc1).sum()
                }
            }
        }
    }
}
