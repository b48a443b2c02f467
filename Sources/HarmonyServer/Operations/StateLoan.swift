// A batch's streaming state is lent to one job at a time. The batch's operation queue runs its operations one
// after the other, and each job that maps against the state (MAP, MAP_TRANSIENT of a known batch, EXPORT)
// takes it from the batch when it starts, so nothing else can see it while the job runs on the pool. The job's
// outcome brings the state back on the loop thread, built for the model the job used; a failed job brings none,
// and the next job rebuilds the state from the batch's cells. Loop thread only (the job itself only receives the
// immutable values captured here).
import HarmonyCore

/// A batch's streaming state, taken from the batch for one job and given back when the job is published.
struct StateLoan {
    /// The batch the state belongs to.
    let batch: QueryBatch
    /// The model the job maps with (the current one when the state was taken).
    let model: ServedModel
    /// The state as the batch held it (nil: none kept), and the model version it was built for.
    let state: QueryState?
    let builtFor: UInt64

    /// Takes `batch`'s state for a job under the current model of `server`.
    init(taking batch: QueryBatch, server: HarmonyServer) {
        self.batch = batch
        model = server.models.current
        state = batch.state
        builtFor = batch.stateVersion
        batch.state = nil
    }

    /// Whether the job rebuilds the state from the batch's cells (none was kept, or it is for an older model).
    var rebuilds: Bool { state == nil || builtFor != model.version }

    /// Gives the state back as it was taken (a mapping done ahead that is not used).
    func restore(server: HarmonyServer) {
        batch.state = state
        batch.stateVersion = builtFor
        server.keepState(of: batch)
    }

    /// Gives the job's resulting state back to the batch (nil after a failure) and marks it recently used.
    func giveBack(_ outcome: QueryState?, server: HarmonyServer) {
        batch.state = outcome
        batch.stateVersion = outcome == nil ? 0 : model.version
        server.keepState(of: batch)
    }
}

extension HarmonyServer {
    /// Runs `work` inline when `inline` (a small request: cheaper than a trip through the pool) or on the pool,
    /// then `completion` with its result on the loop thread.
    func perform<T>(_ work: @escaping () -> T, inline: Bool, completion: @escaping (T) -> Void) {
        if inline {
            completion(work())
        } else {
            loop.submit(work, completion: completion)
        }
    }

    /// Marks a batch's state, just handed back by a job, as recently used (a forgotten batch's is dropped).
    func keepState(of batch: QueryBatch) {
        guard batch.state != nil else { return }
        if table.batches[batch.name] === batch {
            stateCache.used(batch)
        } else {
            batch.state = nil
        }
    }
}
