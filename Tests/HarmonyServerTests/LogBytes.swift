@testable import HarmonyServer
import HarmonyProtocol

// Hand-made log and checkpoint files for the recovery tests, written with the codec the server uses.
extension Array where Element == UInt8 {
    /// Appends `record` framed as the log stores it (length, checksum, body).
    mutating func append(_ record: WALRecord) {
        var writer = ByteWriter()
        record.encode(into: &writer)
        append(contentsOf: writer.take())
    }

    /// Appends a little-endian u64.
    mutating func append(littleEndian value: UInt64) {
        var writer = ByteWriter()
        writer.writeUInt64(value)
        append(contentsOf: writer.take())
    }
}
