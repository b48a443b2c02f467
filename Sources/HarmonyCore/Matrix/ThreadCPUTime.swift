#if canImport(Glibc)
import Glibc
#endif

/// CPU seconds used so far by the calling thread (CLOCK_THREAD_CPUTIME_ID): what benchmarks of one thread's work
/// quote on a machine where other processes take turns on the cores, which wall time would count against us.
public func threadCPUSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}
