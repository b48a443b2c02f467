// The write-ahead log of accepted query cells, with group commit.
//
// Thread contract: `append` and `flush` are called on the loop thread. The file descriptor is written and
// fdatasync'ed only by pool jobs, and at most one such job runs at a time (`writing`), so the descriptor
// needs no lock. Records appended while a job runs wait in `pending` and go out together in the next job:
// one fdatasync covers them all (group commit). Callbacks run on the loop thread, in append order, only
// after the bytes of their record are durable.
#if canImport(Glibc)
import Glibc
#endif

/// An append-only, checksummed log of `WALRecord`s whose appends are acknowledged once durable.
final class WriteAheadLog {
    /// The 8 bytes at the start of every log file.
    static let fileMagic: [UInt8] = Array("HMNYWAL1".utf8)

    /// Where the log lives.
    let path: String
    private let loop: EventLoop
    private let fd: Int32
    // Records waiting for the next group commit; they are encoded (and checksummed) on the pool, not the loop.
    private var pending: [WALRecord] = []
    private var pendingCallbacks: [(Error?) -> Void] = []
    private var writing = false
    private var idleWaiters: [() -> Void] = []
    /// Bytes in the file after the last completed write.
    private(set) var fileBytes: Int
    /// Completed write+fdatasync jobs (group-commit batches).
    private(set) var syncCount = 0
    /// Records made durable.
    private(set) var recordsWritten = 0

    /// Whether each group commit ends with fdatasync (off only for measurements: acknowledged cells may then
    /// be lost by a power failure, though not by a crash of the daemon alone).
    let sync: Bool

    /// Opens (creating if absent) the log at `path` for appending after `validBytes`; bytes past that
    /// (a torn tail found by `WALRecovery`) are cut off first.
    init(path: String, loop: EventLoop, validBytes: Int, sync: Bool = true) throws {
        self.path = path
        self.loop = loop
        self.sync = sync
        let fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw ServerError.io("cannot open the write-ahead log \(path): \(errnoText())") }
        self.fd = fd
        var size = validBytes
        if size < WriteAheadLog.fileMagic.count {
            size = WriteAheadLog.fileMagic.count
            guard ftruncate(fd, 0) == 0,
                  WriteAheadLog.writeAll(fd: fd, WriteAheadLog.fileMagic, at: 0) else {
                close(fd)
                throw ServerError.io("cannot initialise the write-ahead log \(path): \(errnoText())")
            }
        } else if ftruncate(fd, off_t(size)) != 0 {
            close(fd)
            throw ServerError.io("cannot cut the torn tail of \(path): \(errnoText())")
        }
        guard fdatasync(fd) == 0 else {
            close(fd)
            throw ServerError.io("cannot sync the write-ahead log \(path): \(errnoText())")
        }
        fileBytes = size
    }

    deinit { close(fd) }

    /// Whether records are waiting or being written.
    var isBusy: Bool { writing || !pending.isEmpty }

    /// Queues `record`; `durable` runs on the loop thread once it is on disk (nil) or the write failed.
    func append(_ record: WALRecord, durable: @escaping (Error?) -> Void) {
        pending.append(record)
        pendingCallbacks.append(durable)
        if !writing { startWrite() }
    }

    /// Runs `done` once everything appended so far is durable (immediately when idle).
    func whenIdle(_ done: @escaping () -> Void) {
        if !isBusy { done() } else { idleWaiters.append(done) }
    }

    // MARK: - Group commit

    private func startWrite() {
        writing = true
        let records = pending
        let callbacks = pendingCallbacks
        pending = []
        pendingCallbacks = []
        let fd = self.fd, offset = fileBytes, path = self.path, sync = self.sync
        loop.submit({ () -> (written: Int, failure: String?) in
            var bytes: [UInt8] = []
            bytes.reserveCapacity(records.reduce(0) { $0 + 64 + $1.batch.utf8.count + 4 * $1.cells.count })
            for record in records { record.encode(into: &bytes) }
            guard WriteAheadLog.writeAll(fd: fd, bytes, at: offset) else {
                return (0, "cannot append to the write-ahead log \(path): \(errnoText())")
            }
            guard !sync || fdatasync(fd) == 0 else {
                return (0, "cannot sync the write-ahead log \(path): \(errnoText())")
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
                recordsWritten += callbacks.count
                for callback in callbacks { callback(nil) }
            }
            if !pending.isEmpty {
                startWrite()
            } else {
                let waiters = idleWaiters
                idleWaiters = []
                for waiter in waiters { waiter() }
            }
        })
    }

    /// Writes all of `bytes` at `offset`, retrying short writes and EINTR. Runs on a pool thread.
    private static func writeAll(fd: Int32, _ bytes: [UInt8], at offset: Int) -> Bool {
        bytes.withUnsafeBytes { buffer -> Bool in
            var done = 0
            while done < buffer.count {
                let n = pwrite(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done))
                if n < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                done += n
            }
            return true
        }
    }
}

/// The text of the current errno.
func errnoText() -> String { String(cString: strerror(errno)) }
