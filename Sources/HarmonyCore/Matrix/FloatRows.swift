// Element access shared by the SIMD kernels over rows of Floats: eight lanes at an offset (rows are not aligned
// to 32 bytes, so unaligned), and a row added into Double sums.

/// Loads, stores and widened sums on rows of Floats.
enum FloatRows {
    /// The eight Floats at p + k.
    @inline(__always)
    static func load(_ p: UnsafePointer<Float>, _ k: Int) -> SIMD8<Float> {
        UnsafeRawPointer(p + k).loadUnaligned(as: SIMD8<Float>.self)
    }

    /// Writes `v` to the eight Floats at p + k.
    @inline(__always)
    static func store(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>, _ k: Int) {
        UnsafeMutableRawPointer(p + k).storeBytes(of: v, as: SIMD8<Float>.self)
    }

    /// sums[j] += Double(row[j]) for j < count, four at a time (the same additions as a scalar loop).
    @inline(__always)
    static func add(_ row: UnsafePointer<Float>, to sums: UnsafeMutablePointer<Double>, count: Int) {
        var j = 0
        while j + 4 <= count {
            let v = UnsafeRawPointer(row + j).loadUnaligned(as: SIMD4<Float>.self)
            let target = UnsafeMutableRawPointer(sums + j)
            let sum = target.loadUnaligned(as: SIMD4<Double>.self)
                + SIMD4<Double>(Double(v[0]), Double(v[1]), Double(v[2]), Double(v[3]))
            target.storeBytes(of: sum, as: SIMD4<Double>.self)
            j += 4
        }
        while j < count {
            sums[j] += Double(row[j])
            j += 1
        }
    }
}
