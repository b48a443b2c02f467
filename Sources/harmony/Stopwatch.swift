#if canImport(Glibc)
import Glibc
#endif

/// Monotonic wall-clock time for the timings the commands report.
struct Stopwatch {
    private let start = Stopwatch.now()

    /// Seconds since this stopwatch was created.
    var elapsed: Double { Stopwatch.now() - start }

    /// Seconds on the monotonic clock.
    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    /// Peak resident memory of this process so far, in bytes (getrusage; Linux reports kilobytes).
    static func peakResidentBytes() -> Int {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        return Int(usage.ru_maxrss) * 1024
    }
}
