#if canImport(Glibc)
import Glibc
#endif

/// The number of online processors, read once per process: glibc's sysconf(_SC_NPROCESSORS_ONLN) opens and
/// reads /sys/devices/system/cpu/online on every call, which a daemon sizing each request's parallel search
/// would otherwise pay per request. Processors brought online later are not seen.
public enum OnlineProcessors {
    /// At least 1.
    public static let count = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
}
