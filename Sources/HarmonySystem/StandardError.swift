#if canImport(Glibc)
import Glibc
#endif

/// The process's standard error (file descriptor 2), for the executables' messages and logs.
///
/// C's `stderr` is a global variable, which Swift 6 treats as shared mutable state; writing to the descriptor
/// needs none. Like `fputs` on the unbuffered `stderr`, every call is written at once.
public enum StandardError {
    /// Writes `text` (short writes continue; a failure is dropped, as there is nowhere left to report it).
    public static func write(_ text: String) {
        let bytes = Array(text.utf8)
        bytes.withUnsafeBytes { try? SystemCall.writeAll(2, $0) }
    }
}
