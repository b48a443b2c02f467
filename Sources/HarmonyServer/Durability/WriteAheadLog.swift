import HarmonyCore
import HarmonyProtocol
import HarmonySystem
// The write-ahead log of accepted query cells, with group commit.
//
// Thread contract: `append` and `flush` are called on the loop thread. The file descriptor is written and
// fdatasync'ed only by jobs of the log's own thread (`LogThread`), and at most one such job runs at a time
// (`writing`), so the descriptor needs no lock. Records appended while a job runs wait in `pending` and go out together in the next job:
// one fdatasync covers them all (group commit). Callbacks run on the loop thread, in append order, only
// after the bytes of their record are durable.
//
// Preallocation: the file keeps a zero-filled, synced region ahead of its last record. A record written
// there changes no file metadata, so its fdatasync flushes only the record (no journal commit on ext4/xfs),
// which is what a single-cell MAP waits for; appending past the end instead costs a journal commit per
// sync, and waits behind any other file's data the journal orders before it (a refit's model file).
// Recovery reads a zero record header as the end of the log. The region is topped up by its own pool job
// when the log is idle and less than half of it remains; that job writes only past `allocatedBytes`, and a
// group commit that would reach past it while the job runs waits for it. Under sustained load the log is
// never idle and simply appends.
#if canImport(Glibc)
import Glibc
#endif

/// The two system calls by which the log's records reach the disk; tests inject failures (ENOSPC, EIO) here.
struct LogFileIO: Sendable {
    /// pwrite(2): bytes written, or -1 with errno set.
    var pwrite: @Sendable (_ fd: Int32, _ bytes: UnsafeRawBufferPointer, _ offset: Int) -> Int
    /// fdatasync(2): 0, or -1 with errno set.
    var fdatasync: @Sendable (_ fd: Int32) -> Int32

    /// The real system calls.
    static let system = LogFileIO(pwrite: { fd, bytes, offset in Glibc.pwrite(fd, bytes.baseAddress, bytes.count, off_t(offset)) },
                                  fdatasync: { fd in Glibc.fdatasync(fd) })
}

/// An append-only, checksummed log of `WALRecord`s whose appends are acknowledged once durable.
final class WriteAheadLog {
    /// The 8 bytes at the start of every log file.
    static let fileMagic: [UInt8] = Array("HMNYWAL1".utf8)

    /// Where the log lives.
    let path: String
    private let thread: LogThread
    private let fd: Int32
    // Records waiting for the next group commit; they are encoded (and checksummed) on the log thread, not the loop.
    private var pending: [WALRecord] = []
    private var pendingCallbacks: [(Error?) -> Void] = []
    private var writing = false
    private var idleWaiters: [() -> Void] = []
    // A checkpoint waiting for the running group commit to finish (see `checkpoint`).
    private var checkpointRequest: (prepare: () -> Checkpoint, path: String, done: (Error?) -> Void)?
    /// Zero-filled bytes kept ahead of the last record (topped up when half is used).
    static let preallocationBytes = 1 << 20

    /// Bytes in the file after the last completed write.
    private(set) var fileBytes: Int
    /// The file's size: records, then zeros up to here.
    private(set) var allocatedBytes: Int
    // Whether a job is zero-filling past `allocatedBytes`.
    private var extending = false
    /// Completed write+fdatasync jobs (group-commit batches).
    private(set) var syncCount = 0
    /// Records made durable.
    private(set) var recordsWritten = 0

    /// Whether each group commit ends with fdatasync (off only for measurements: acknowledged cells may then
    /// be lost by a power failure, though not by a crash of the daemon alone).
    let sync: Bool
    private let io: LogFileIO

    /// Opens (creating if absent) the log at `path` for appending after `validBytes`; bytes past that
    /// (a torn tail found by `WALRecovery`) are cut off first.
    /// `pollMicroseconds`: how long the log thread and the loop poll for each other instead of sleeping (see
    /// `LogThread`); 0 never polls.
    init(path: String, loop: EventLoop, validBytes: Int, sync: Bool = true, io: LogFileIO = .system,
         pollMicroseconds: Int = ServerConfiguration.defaultLogPollMicroseconds) throws {
        self.path = path
        self.sync = sync
        self.io = io
        let fd: Int32
        do {
            fd = try SystemCall.retrying("open") { open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o600) }
        } catch {
            throw ServerError.io("cannot open the write-ahead log \(path): \(error)")
        }
        self.fd = fd
        var size = validBytes
        // Start-up may block: the loop is not serving yet.
        let zeros = sync ? WriteAheadLog.preallocationBytes : 0
        do {
            if size < WriteAheadLog.fileMagic.count {
                size = WriteAheadLog.fileMagic.count
                _ = try SystemCall.retrying("ftruncate") { ftruncate(fd, 0) }
                try WriteAheadLog.writeAll(fd: fd, WriteAheadLog.fileMagic, at: 0)
            } else {
                _ = try SystemCall.retrying("ftruncate") { ftruncate(fd, off_t(size)) }
            }
            try WriteAheadLog.zeroFill(fd: fd, at: size, count: zeros)
            try WriteAheadLog.dataSync(fd)
            thread = try LogThread(loop: loop, pollNanoseconds: UInt64(max(0, pollMicroseconds)) * 1000)
        } catch {
            Glibc.close(fd)
            throw ServerError.io("cannot prepare the write-ahead log \(path): \(error)")
        }
        fileBytes = size
        allocatedBytes = size + zeros
    }

    deinit { Glibc.close(fd) }

    /// Asked at each write whether the log's thread and the loop may poll for each other around it (see
    /// `LogThread`); the server says no while a refit runs.
    var mayPoll: () -> Bool {
        get { thread.mayPoll }
        set { thread.mayPoll = newValue }
    }

    /// Stops the log's thread and closes its loop handles (loop thread, once idle: see `whenIdle`).
    func close() { thread.close() }

    /// Whether records are waiting or being written, a checkpoint waits, or the preallocated region is being
    /// extended.
    var isBusy: Bool { writing || extending || !pending.isEmpty || checkpointRequest != nil }

    /// Queues `record`; `durable` runs on the loop thread once it is on disk (nil) or the write failed.
    func append(_ record: WALRecord, durable: @escaping (Error?) -> Void) {
        pending.append(record)
        pendingCallbacks.append(durable)
        startWrite()
    }

    /// Runs `done` once everything appended so far is durable (immediately when idle).
    func whenIdle(_ done: @escaping () -> Void) {
        if !isBusy { done() } else { idleWaiters.append(done) }
    }

    /// Checkpoints the log: between two group commits (nothing in flight, so every record appended before is
    /// durable and applied, and none after it is), `prepare` runs on the loop thread and captures the
    /// checkpoint; a pool job writes it atomically to `path`, then cuts the log back to its header (re-zeroing
    /// the preallocated region). Records appended meanwhile wait and go to the emptied log. `done` runs on the
    /// loop thread: nil, or the error (the log is then left whole when the checkpoint could not be written).
    func checkpoint(to path: String, prepare: @escaping () -> Checkpoint, done: @escaping (Error?) -> Void) {
        if let earlier = checkpointRequest {
            // A newer request supersedes one still waiting: it covers at least as much.
            earlier.done(nil)
        }
        checkpointRequest = (prepare, path, done)
        startWrite()
    }

    // Runs the waiting checkpoint (only while no group commit or extension runs).
    private func startCheckpoint() {
        guard let request = checkpointRequest else { return }
        checkpointRequest = nil
        writing = true
        let checkpoint = request.prepare()
        let fd = self.fd, path = self.path, sync = self.sync
        let header = WriteAheadLog.fileMagic.count, zeros = sync ? WriteAheadLog.preallocationBytes : 0
        thread.submit({ () -> (cut: Bool, allocated: Int, failure: String?) in
            do {
                try checkpoint.write(to: request.path)
            } catch {
                return (false, 0, "\(error)")
            }
            do {
                _ = try SystemCall.retrying("ftruncate") { ftruncate(fd, off_t(header)) }
            } catch {
                // The checkpoint is durable; recovery skips the log's records it covers.
                return (false, 0, "cannot cut the write-ahead log \(path) after the checkpoint: \(error)")
            }
            let zeroed = (try? WriteAheadLog.zeroFill(fd: fd, at: header, count: zeros, sync: true)) != nil
            return (true, header + (zeroed ? zeros : 0), nil)
        }, completion: { [self] outcome in
            writing = false
            if outcome.cut {
                fileBytes = header
                allocatedBytes = outcome.allocated
            }
            request.done(outcome.failure.map { ServerError.io($0) })
            continueAfterJob()
        })
    }

    // MARK: - Group commit

    // Starts the next group commit unless one runs (a callback of the previous may have started it already);
    // a waiting checkpoint goes first.
    private func startWrite() {
        guard !writing else { return }
        if checkpointRequest != nil {
            if !extending { startCheckpoint() }
            return
        }
        guard !pending.isEmpty else { return }
        let size = pending.reduce(0) { $0 + $1.encodedBytes }
        // Never write into the range a running extension is zero-filling; its completion restarts us.
        guard !extending || fileBytes + size <= allocatedBytes else { return }
        writing = true
        let records = pending
        let callbacks = pendingCallbacks
        pending = []
        pendingCallbacks = []
        let fd = self.fd, offset = fileBytes, path = self.path, sync = self.sync, io = self.io
        thread.submit({ () -> (written: Int, failure: String?) in
            var writer = ByteWriter(capacity: size)
            for record in records { record.encode(into: &writer) }
            let bytes = writer.take()
            do {
                try WriteAheadLog.writeAll(fd: fd, bytes, at: offset, io: io)
            } catch {
                return (0, "cannot append to the write-ahead log \(path): \(error)")
            }
            do {
                if sync { try WriteAheadLog.dataSync(fd, io: io) }
            } catch {
                return (0, "cannot sync the write-ahead log \(path): \(error)")
            }
            return (bytes.count, nil)
        }, completion: { [self] outcome in
            let failure = outcome.failure
            writing = false
            syncCount += 1
            if let failure {
                // The file may now end in a partial record; the next write starts where this one did, so
                // later records overwrite it and recovery never sees the failed bytes followed by good ones.
                for callback in callbacks { callback(ServerError.io(failure)) }
            } else {
                fileBytes = offset + outcome.written
                allocatedBytes = max(allocatedBytes, fileBytes)
                recordsWritten += callbacks.count
                for callback in callbacks { callback(nil) }
            }
            continueAfterJob()
        })
    }

    // After a group commit or a checkpoint: the next group commit, or, when nothing waits, the top-up of the
    // preallocated region and the idle waiters.
    private func continueAfterJob() {
        if !pending.isEmpty {
            startWrite()
        } else {
            extendIfLow()
            notifyIfIdle()
        }
    }

    private func notifyIfIdle() {
        guard !isBusy else { return }
        let waiters = idleWaiters
        idleWaiters = []
        for waiter in waiters { waiter() }
    }

    // Tops up the zero-filled region once less than half of it remains (only when the log syncs: without
    // fdatasync there is nothing to save).
    private func extendIfLow() {
        // Only while no group commit runs (a callback may already have started the next one): a running write
        // may reach past `allocatedBytes`, into the range the extension would zero.
        guard sync, !extending, !writing, pending.isEmpty, checkpointRequest == nil,
              allocatedBytes - fileBytes < WriteAheadLog.preallocationBytes / 2 else { return }
        extending = true
        let fd = self.fd, from = allocatedBytes, count = WriteAheadLog.preallocationBytes
        thread.submit({ (try? WriteAheadLog.zeroFill(fd: fd, at: from, count: count, sync: true)) != nil },
                    completion: { [self] extended in
            extending = false
            // On failure the log keeps working by appending past its end.
            if extended { allocatedBytes = max(allocatedBytes, from + count) }
            startWrite()
            notifyIfIdle()
        })
    }

    /// Writes `count` zero bytes at `offset`, then (when `sync`) fdatasyncs. Runs on a pool thread (or at start-up).
    private static func zeroFill(fd: Int32, at offset: Int, count: Int, sync: Bool = false) throws {
        let piece = 64 << 10
        let zeros = [UInt8](repeating: 0, count: min(piece, max(count, 0)))
        var done = 0
        while done < count {
            let length = min(piece, count - done)
            try writeAll(fd: fd, length == zeros.count ? zeros : Array(zeros[0..<length]), at: offset + done)
            done += length
        }
        if sync { try dataSync(fd) }
    }

    /// Writes all of `bytes` at `offset`, retrying short writes and EINTR. Runs on a pool thread.
    private static func writeAll(fd: Int32, _ bytes: [UInt8], at offset: Int, io: LogFileIO = .system) throws {
        try bytes.withUnsafeBytes { buffer in
            try SystemCall.writeAll(buffer, call: "pwrite") { rest in
                io.pwrite(fd, rest, offset + buffer.baseAddress!.distance(to: rest.baseAddress!))
            }
        }
    }

    /// fdatasync(2) through `io`.
    private static func dataSync(_ fd: Int32, io: LogFileIO = .system) throws {
        _ = try SystemCall.retrying("fdatasync") { io.fdatasync(fd) }
    }
}

/// The text of the current errno.
func errnoText() -> String { String(cString: strerror(errno)) }
