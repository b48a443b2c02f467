#if canImport(Glibc)
import Glibc
#endif

// A mutex-protected counter handing out task numbers to the workers of one TaskRunner.run call. A lock per
// task is negligible next to a task (thousands of cells).

/// Hands out 0, 1, 2, ... to concurrent callers.
final class TaskCounter: @unchecked Sendable {
    // Heap-allocated so the mutex never moves (the address of a Swift stored property is not stable).
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private var value = 0

    init() {
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// The next number (each number is returned once).
    func next() -> Int {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        let current = value
        value += 1
        return current
    }
}
