import CIsal

// Gzip data as our writers and pigz produce it: one or more members back to back (`Gzip.compress` writes one per
// 8 MiB piece), possibly followed by zero bytes (some tools pad to a block size). Zero padding may also sit between
// members. Data that ends inside a member is truncated, which must be an error, not a short file.

/// A streaming gzip inflater for data of one or more members, fed in pieces of any size: the one inflater behind
/// whole-file reads (`FileBytes`) and line-by-line reads (`LineChunks`).
///
/// Feed it with `inflate(_:into:)` while input remains, then call `finish(into:)` until it returns 0: that drains
/// what the inflater still holds and throws when the data ended inside a member.
final class GzipInflater {
    /// The file named in error messages.
    let path: String
    // ISA-L's inflate state (see CIsal/shim.h), verifying each member's CRC-32 and length.
    private let state: UnsafeMutableRawPointer
    // Whether the last member ended: zero bytes are padding, and the next other byte starts a member.
    private var memberEnded = false

    /// A fresh inflater for the data of `path`.
    init(path: String) throws {
        self.path = path
        guard let state = harmony_isal_new() else { throw HarmonyError.io("\(path): cannot start the decompressor") }
        self.state = state
    }

    deinit { harmony_isal_free(state) }

    /// Inflates from `input` into `output` until one of them is used up or a member ends; returns the bytes read
    /// and written. Padding after a member is skipped and the next member started. With both non-empty, it always
    /// reads or writes something.
    func inflate(_ input: UnsafeBufferPointer<UInt8>,
                 into output: UnsafeMutableBufferPointer<UInt8>) throws -> (read: Int, written: Int) {
        var skipped = 0
        if memberEnded {
            while skipped < input.count && input[skipped] == 0 { skipped += 1 }
            if skipped == input.count { return (skipped, 0) }
            harmony_isal_reset(state)
            memberEnded = false
        }
        var read: UInt32 = 0, written: UInt32 = 0, ended: Int32 = 0
        let rc = harmony_isal_inflate(state, input.baseAddress.map { $0 + skipped },
                                      UInt32(min(input.count - skipped, Int(UInt32.max))), output.baseAddress,
                                      UInt32(min(output.count, Int(UInt32.max))), &read, &written, &ended)
        guard rc >= 0 else { throw HarmonyError.fileFormat("\(path): cannot decompress: \(Self.reason(rc))") }
        memberEnded = ended != 0
        return (skipped + Int(read), Int(written))
    }

    /// After the last input: writes into `output` what is still held and returns its size; 0 once nothing is
    /// left, after checking that the data ended after a member (else `fileFormat`: truncated).
    func finish(into output: UnsafeMutableBufferPointer<UInt8>) throws -> Int {
        if memberEnded { return 0 }
        let written = try inflate(UnsafeBufferPointer(start: nil, count: 0), into: output).written
        if written == 0 && !memberEnded { throw HarmonyError.fileFormat("\(path): the gzip data is truncated") }
        return written
    }

    private static func reason(_ rc: Int32) -> String {
        switch rc {
        case ISAL_INCORRECT_CHECKSUM: return "a member's CRC-32 does not match its data"
        case ISAL_INVALID_WRAPPER, ISAL_UNSUPPORTED_METHOD: return "not a valid gzip member header"
        default: return "invalid deflate data (ISA-L code \(rc))"
        }
    }
}
