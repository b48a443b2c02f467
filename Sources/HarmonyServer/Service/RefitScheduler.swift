// The state of background refits: whether one runs, how its result comes back, how it is cancelled, and when
// the next automatic one is due. The decisions are in HarmonyServer+Refit.swift.
// Thread contract: loop thread only (the cancellation flag is the one part the refit's thread reads).

/// The running refit, if any, and the automatic-refit threshold.
struct RefitScheduler {
    /// True while a refit runs; one runs at a time.
    var running = false
    /// Wakes the loop when the running refit's thread has finished.
    var waker: LoopWaker?
    /// Set by shutdown: the running refit stops before its next iteration.
    var cancellation: CancellationFlag?
    /// After a failed or refused automatic refit, the pending count at which the next one is tried.
    var nextAutomaticAt = 0
}
