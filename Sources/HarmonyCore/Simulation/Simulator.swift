#if canImport(Glibc)
import Glibc
#endif

// Synthetic single-cell-like embeddings with batch effects, for tests and benchmarks.
//
// Model (all drawn from one seeded stream, see SeededGenerator):
//   * type t has a centre mu_t ~ N(0, 3^2 I) and an axis-aligned, anisotropic spread: dimension j has
//     standard deviation 0.3 + 1.2 u_tj (u uniform);
//   * type proportions are unequal: w_t ∝ exp(0.8 g_t); batch sizes too: v_b ∝ exp(0.6 g_b);
//   * batch composition differs: P(t | b) ∝ w_t exp(0.9 g_bt);
//   * batch b shifts every cell by a global offset a_b ~ N(0, (1.5 s)^2 I) plus a type-dependent part
//     h_bt ~ N(0, (0.5 s)^2 I), s = `batchEffect`, so the batch effect is partly cell-type specific.
// A cell draws its batch from v, its type from P(t | b), then x = mu_t + s_t ∘ e + a_b + h_bt, e ~ N(0, I).
//
// Cells are generated in fixed chunks of 16,384, each with its own stream derived from (seed, chunk), so the
// chunks run in parallel and the output does not depend on the number of cores.

/// Generates seeded synthetic embeddings with cell types and batch effects.
public enum Simulator {
    /// Cells per independently seeded chunk.
    static let chunkSize = 16_384

    /// The data set described by `spec`; identical for identical specs.
    public static func generate(_ spec: SimulationSpec) -> SimulatedData {
        let n = spec.cells, d = spec.dims, nb = spec.batches, nt = spec.types
        var rng = SeededGenerator(seed: spec.seed)

        var centres = [Double](repeating: 0, count: nt * d)
        var spreads = [Double](repeating: 0, count: nt * d)
        for i in 0..<(nt * d) {
            centres[i] = 3 * rng.normal()
            spreads[i] = 0.3 + 1.2 * rng.uniform()
        }
        let typeWeights = (0..<nt).map { _ in exp(0.8 * rng.normal()) }
        let batchWeights = (0..<nb).map { _ in exp(0.6 * rng.normal()) }
        // Cumulative P(t | b), one row per batch.
        var typeCumulative = [Double](repeating: 0, count: nb * nt)
        for b in 0..<nb {
            var total = 0.0
            for t in 0..<nt {
                total += typeWeights[t] * exp(0.9 * rng.normal())
                typeCumulative[b * nt + t] = total
            }
            for t in 0..<nt { typeCumulative[b * nt + t] /= total }
        }
        let batchCumulative = cumulative(batchWeights)
        // Shift of batch b for type t: a_b + h_bt.
        var shifts = [Double](repeating: 0, count: nb * nt * d)
        for b in 0..<nb {
            let global = (0..<d).map { _ in 1.5 * spec.batchEffect * rng.normal() }
            for t in 0..<nt {
                for j in 0..<d { shifts[(b * nt + t) * d + j] = global[j] + 0.5 * spec.batchEffect * rng.normal() }
            }
        }

        var values = [Float](repeating: 0, count: n * d)
        var batchCodes = [Int32](repeating: 0, count: n)
        var typeCodes = [Int32](repeating: 0, count: n)
        let chunks = (n + chunkSize - 1) / chunkSize
        values.withUnsafeMutableBufferPointer { out in
            batchCodes.withUnsafeMutableBufferPointer { bOut in
                typeCodes.withUnsafeMutableBufferPointer { tOut in
                    let outPtr = out.baseAddress!, bPtr = bOut.baseAddress!, tPtr = tOut.baseAddress!
                    TaskRunner(requested: 0).run(chunks) { chunk in
                        var local = SeededGenerator(seed: spec.seed, stream: UInt64(chunk))
                        let start = chunk * chunkSize, end = min(n, start + chunkSize)
                        for i in start..<end {
                            let b = pick(batchCumulative, 0, nb, local.uniform())
                            let t = pick(typeCumulative, b * nt, nt, local.uniform())
                            bPtr[i] = Int32(b)
                            tPtr[i] = Int32(t)
                            let shift = (b * nt + t) * d
                            for j in 0..<d {
                                let x = centres[t * d + j] + spreads[t * d + j] * local.normal() + shifts[shift + j]
                                outPtr[i * d + j] = Float(x)
                            }
                        }
                    }
                }
            }
        }

        let batchNames = (0..<nb).map { "batch" + padded($0 + 1, width: max(2, digits(nb))) }
        let typeNames = (0..<nt).map { "type" + padded($0 + 1, width: max(2, digits(nt))) }
        let idWidth = max(6, digits(n))
        return SimulatedData(ids: (0..<n).map { label("cell", $0 + 1, width: idWidth) },
                             embedding: Matrix(rows: n, cols: d, values: values),
                             batch: batchCodes.map { batchNames[Int($0)] },
                             cellType: typeCodes.map { typeNames[Int($0)] })
    }

    /// Running sums of `weights`, scaled to end at 1.
    private static func cumulative(_ weights: [Double]) -> [Double] {
        var total = 0.0
        var out = weights.map { w -> Double in total += w; return total }
        for i in out.indices { out[i] /= total }
        return out
    }

    /// The first index in `table[offset ..< offset + count]` whose cumulative value exceeds `u`.
    @inline(__always)
    private static func pick(_ table: [Double], _ offset: Int, _ count: Int, _ u: Double) -> Int {
        for i in 0..<(count - 1) where u < table[offset + i] { return i }
        return count - 1
    }

    /// Number of decimal digits of a positive integer.
    private static func digits(_ value: Int) -> Int {
        var v = value, count = 1
        while v >= 10 { v /= 10; count += 1 }
        return count
    }

    /// `prefix` followed by `value` in decimal, left-padded with zeros to `width` digits, written as UTF-8 bytes
    /// directly (a million ids take a few tens of milliseconds).
    private static func label(_ prefix: StaticString, _ value: Int, width: Int) -> String {
        let digitCount = max(width, digits(value))
        let length = prefix.utf8CodeUnitCount + digitCount
        return String(unsafeUninitializedCapacity: length) { buffer in
            let p = prefix.utf8Start
            for j in 0..<prefix.utf8CodeUnitCount { buffer[j] = p[j] }
            var v = value
            for j in stride(from: length - 1, through: prefix.utf8CodeUnitCount, by: -1) {
                buffer[j] = UInt8(ascii: "0") + UInt8(v % 10)
                v /= 10
            }
            return length
        }
    }

    /// `value` in decimal, left-padded with zeros to `width` digits.
    private static func padded(_ value: Int, width: Int) -> String {
        var text = String(value)
        if text.count < width { text = String(repeating: "0", count: width - text.count) + text }
        return text
    }
}
