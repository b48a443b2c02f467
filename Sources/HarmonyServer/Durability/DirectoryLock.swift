// One daemon per state directory: an exclusive flock on `<state-dir>/LOCK`. The kernel drops the lock when
// the holder ends, even by SIGKILL, so a crash never leaves the directory locked.
#if canImport(Glibc)
import Glibc
#endif

/// An exclusive lock on a state directory, held until this object is released.
final class DirectoryLock {
    /// The lock file's name inside the state directory.
    static let fileName = "LOCK"
    private let fd: Int32

    /// Takes the lock on `directory/LOCK`; throws when another process (or another server in this one) holds it.
    init(directory: String) throws {
        let path = directory + "/" + DirectoryLock.fileName
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw ServerError.io("cannot open \(path): \(errnoText())") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let busy = errno == EWOULDBLOCK
            let reason = errnoText()
            close(fd)
            throw busy ? ServerError.configuration("the state directory \(directory) is in use by another harmonyd")
                : ServerError.io("cannot lock \(path): \(reason)")
        }
        self.fd = fd
    }

    deinit { close(fd) }
}
