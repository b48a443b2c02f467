import HarmonyCore
import HarmonyProtocol
// The log's checkpoint: after each successful refit, every cell the batches hold is written to `checkpoint.log`
// (atomically), and the write-ahead log is then cut back to its header, so a restart replays the checkpoint and
// only the records logged after it.
//
// Byte layout: magic `HMNYCKP1` | u64 throughSequence | records exactly as in the write-ahead log (`WALRecord`),
// one per accepted chunk: the cells a MAP record added to its batch (only its new cells, with their ids), under
// that record's sequence, in sequence order. Batches forgotten before the checkpoint are absent; so are the
// FORGET records themselves. `throughSequence` is the last durable record the checkpoint covers: log records
// with a sequence up to it are already in the checkpoint (a crash between writing the checkpoint and cutting the
// log leaves them in the log too), and recovery skips them.
//
// Replaying the chunks rebuilds the same batches as replaying the original records did: the same cells in the
// same arrival order (so generated ids and positions are unchanged), the same ids (so exactly-once holds across
// the checkpoint) and the same sequences (so which cells a model has folded in is unchanged).
// Thread contract: `encode` runs on the loop thread (it copies nothing but array references), `write` on a pool
// thread, `read` at start-up.

/// The batches' cells as of one log sequence.
struct Checkpoint {
    /// The 8 bytes at the start of every checkpoint file.
    static let fileMagic: [UInt8] = Array("HMNYCKP1".utf8)
    /// Bytes before the first record: magic and `throughSequence`.
    static let headerBytes = 16
    /// The file's name in the state directory.
    static let fileName = "checkpoint.log"

    /// Log records with a sequence up to this one are covered (0: no checkpoint).
    var throughSequence: UInt64
    /// The accepted chunks, in sequence order.
    var records: [WALRecord]

    /// The checkpoint of `batches` after the durable record `through`.
    init(batches: some Sequence<QueryBatch>, through: UInt64, dims: Int) {
        throughSequence = through
        var records: [WALRecord] = []
        for batch in batches {
            for chunk in batch.chunks {
                records.append(WALRecord(sequence: chunk.sequence, batch: batch.name, ids: chunk.ids ?? [],
                                         count: chunk.count, dims: dims, cells: chunk.values))
            }
        }
        records.sort { $0.sequence < $1.sequence }
        self.records = records
    }

    private init(throughSequence: UInt64, records: [WALRecord]) {
        self.throughSequence = throughSequence
        self.records = records
    }

    /// The file's bytes.
    func encoded() -> [UInt8] {
        var writer = ByteWriter(capacity: records.reduce(Checkpoint.headerBytes) { $0 + $1.encodedBytes })
        writer.writeBytes(Checkpoint.fileMagic)
        writer.writeUInt64(throughSequence)
        for record in records { record.encode(into: &writer) }
        return writer.take()
    }

    /// Writes the checkpoint to `path` atomically (temporary file, fsync, rename, directory fsync). Pool thread.
    func write(to path: String) throws {
        try StateFiles.writeAtomically(encoded(), to: path)
    }

    /// The checkpoint at `path`, or nil when there is none. It was written atomically, so any damage (a short
    /// file, a bad checksum) stops the start, as a damaged log record before further records does.
    static func read(path: String) throws -> Checkpoint? {
        guard StateFiles.exists(path) else { return nil }
        let bytes = try StateFiles.read(path)
        guard bytes.count >= headerBytes, Array(bytes[0..<fileMagic.count]) == fileMagic else {
            throw ServerError.io("\(path) is not a harmonyd checkpoint (wrong magic or short header)")
        }
        var header = ByteReader(bytes, range: fileMagic.count..<headerBytes)
        let through = try header.readUInt64("the checkpoint's sequence")
        let parsed = try WALRecovery.parse(bytes, path: path, magic: fileMagic, recordsFrom: headerBytes)
        if let reason = parsed.discardReason {
            throw ServerError.io("\(path) is damaged (\(reason)); harmonyd will not start without the cells it holds")
        }
        return Checkpoint(throughSequence: through, records: parsed.records)
    }
}
