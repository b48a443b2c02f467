#if canImport(Glibc)
import Glibc
#endif

// Linux's SCHED_IDLE class for background work (a daemon's refit). A thread in it runs only when no normal
// thread wants the CPU, and a normal thread that wakes up preempts it at once; a nice value only lowers the
// share of CPU time and still lets a niced thread finish its time slice first, which a latency-critical event
// loop on a small machine notices as milliseconds of tail latency.
//
// Leaving SCHED_IDLE needs privileges (RLIMIT_NICE), so shared threads (libdispatch's pool) must never enter
// it: work started from an idle thread asks for `ThreadPolicy.ownThreads`, whose workers inherit the class.

/// The SCHED_IDLE scheduling class for the calling thread.
public enum BackgroundScheduling {
    // <sched.h> defines SCHED_IDLE only under _GNU_SOURCE, which the Glibc module does not import.
    static let idlePolicy: Int32 = 5

    /// Moves the calling thread into SCHED_IDLE; false where the system refuses (then it runs as before).
    @discardableResult
    public static func enterIdleClass() -> Bool {
        var parameter = sched_param()
        parameter.sched_priority = 0
        return sched_setscheduler(0, idlePolicy, &parameter) == 0
    }

    /// Whether the calling thread runs in SCHED_IDLE.
    static var callerIsIdle: Bool { sched_getscheduler(0) == idlePolicy }
}
