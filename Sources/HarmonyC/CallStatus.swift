import CHarmony
import HarmonyCore

// Every entry point runs its body through `CallStatus.run`, which turns a thrown error into a status code and
// writes its message into the caller's buffer. Nothing is stored between calls, so concurrent calls are safe.

enum CallStatus {
    /// Runs `body`; returns HARMONY_OK, or the error's status with its message copied into `err`.
    static func run(err: UnsafeMutablePointer<CChar>?, length: Int, _ body: () throws -> Void) -> Int32 {
        do {
            try body()
            if let err, length > 0 { err[0] = 0 }
            return Int32(HARMONY_OK.rawValue)
        } catch let error as HarmonyError {
            write(error.description, to: err, length: length)
            return Int32(code(of: error).rawValue)
        } catch {
            write("\(error)", to: err, length: length)
            return Int32(HARMONY_INVALID_INPUT.rawValue)
        }
    }

    static func code(of error: HarmonyError) -> harmony_status {
        switch error {
        case .invalidParameter: return HARMONY_INVALID_PARAMETER
        case .invalidInput: return HARMONY_INVALID_INPUT
        case .fileFormat: return HARMONY_FILE_FORMAT
        case .io: return HARMONY_IO
        case .numerical: return HARMONY_NUMERICAL
        }
    }

    /// Copies `message` as UTF-8 into `buffer`, cut at a character boundary to fit, NUL-terminated.
    static func write(_ message: String, to buffer: UnsafeMutablePointer<CChar>?, length: Int) {
        guard let buffer, length > 0 else { return }
        var bytes = Array(message.utf8)
        if bytes.count > length - 1 {
            bytes.removeLast(bytes.count - (length - 1))
            // Drop a UTF-8 sequence cut in the middle (continuation bytes are 10xxxxxx).
            while let last = bytes.last, last & 0xC0 == 0x80 { bytes.removeLast() }
            if let last = bytes.last, last >= 0xC0 { bytes.removeLast() }
        }
        for (i, b) in bytes.enumerated() { buffer[i] = CChar(bitPattern: b) }
        buffer[bytes.count] = 0
    }
}
