import CMPI
import Dispatch
import HarmonyCore

// The processes of `mpirun -np P harmony-mpi fit` (MPI_COMM_WORLD), as the fit's communicator.
//
// The fit exchanges only small sums (see CellShard): each is one MPI_Allgather of the ranks' partial sums, which
// every rank then adds in rank order, so the result does not depend on how the MPI library combines messages.
// The corrected rows travel once, to rank 0, by point-to-point messages of at most `chunkBytes` (MPI counts
// are 32-bit). Payload bytes and calls are counted for the report.

/// MPI_COMM_WORLD for the distributed fit. Create one per process with `start()`, end with `finish()`.
public final class MPICommunicator: FitCommunicator, @unchecked Sendable {
    // @unchecked: MPI is initialised without thread support and the fit calls it from the thread that runs the
    // fit only (never from the TaskRunner's workers).

    public let rank: Int
    public let size: Int
    /// Payload bytes this rank sent and received in all-gathers.
    public private(set) var allGatherBytes = 0
    /// All-gather calls.
    public private(set) var allGatherCalls = 0
    /// Seconds spent in all-gathers (the exchange, and waiting for the slowest rank to arrive).
    public private(set) var allGatherSeconds = 0.0
    /// Payload bytes this rank sent or received while gathering the corrected rows.
    public private(set) var gatherBytes = 0
    /// Payload bytes of broadcasts (the covariates, from rank 0).
    public private(set) var broadcastBytes = 0

    /// Largest message of a gather (MPI counts are Int32).
    static let chunkBytes = 1 << 30

    private init(rank: Int, size: Int) {
        self.rank = rank
        self.size = size
    }

    /// Initialises MPI (once per process) and returns MPI_COMM_WORLD's rank and size.
    public static func start() -> MPICommunicator {
        MPI_Init(nil, nil)
        var rank: Int32 = 0, size: Int32 = 1
        MPI_Comm_rank(harmony_mpi_comm_world(), &rank)
        MPI_Comm_size(harmony_mpi_comm_world(), &size)
        return MPICommunicator(rank: Int(rank), size: Int(size))
    }

    /// Finalises MPI; call once, after the last exchange.
    public func finish() {
        MPI_Finalize()
    }

    public func allGather(_ values: [Double]) -> [Double] {
        let start = DispatchTime.now().uptimeNanoseconds
        defer { allGatherSeconds += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
        var all = [Double](repeating: 0, count: values.count * size)
        values.withUnsafeBufferPointer { send in
            all.withUnsafeMutableBufferPointer { receive in
                _ = MPI_Allgather(send.baseAddress, Int32(values.count), harmony_mpi_double(),
                                  receive.baseAddress, Int32(values.count), harmony_mpi_double(),
                                  harmony_mpi_comm_world())
            }
        }
        allGatherCalls += 1
        allGatherBytes += values.count * 8 * size
        return all
    }

    /// Every rank's `bytes` (any length), in rank order, on every rank.
    public func allGather(bytes: [UInt8]) -> [[UInt8]] {
        let lengths = allGather([Double(bytes.count)]).map { Int($0) }
        let longest = lengths.max() ?? 0
        var padded = [Double](repeating: 0, count: longest)
        for (x, byte) in bytes.enumerated() { padded[x] = Double(byte) }
        let all = allGather(padded)
        return (0..<size).map { r in (0..<lengths[r]).map { UInt8(all[r * longest + $0]) } }
    }

    /// Rank 0's `bytes` on every rank (the other ranks' arguments are ignored).
    public func broadcast(_ bytes: [UInt8]) -> [UInt8] {
        var length = [Double(bytes.count)]
        length.withUnsafeMutableBufferPointer { _ = MPI_Bcast($0.baseAddress, 1, harmony_mpi_double(), 0, harmony_mpi_comm_world()) }
        var all = rank == 0 ? bytes : [UInt8](repeating: 0, count: Int(length[0]))
        all.withUnsafeMutableBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let len = min(Self.chunkBytes, buffer.count - offset)
                _ = MPI_Bcast(buffer.baseAddress! + offset, Int32(len), harmony_mpi_byte(), 0, harmony_mpi_comm_world())
                offset += len
            }
        }
        broadcastBytes += all.count
        return all
    }

    /// Rank 0 receives every rank's `values` (rank r holds `counts[r]` of them) in rank order and returns them;
    /// the other ranks send theirs and return nil.
    public func gather(_ values: [Float], counts: [Int]) -> [Float]? {
        let chunk = Self.chunkBytes / MemoryLayout<Float>.size
        if rank != 0 {
            values.withUnsafeBufferPointer { send in
                var offset = 0
                while offset < values.count {
                    let len = min(chunk, values.count - offset)
                    _ = MPI_Send(send.baseAddress! + offset, Int32(len), harmony_mpi_float(), 0, 0,
                                 harmony_mpi_comm_world())
                    offset += len
                }
            }
            gatherBytes += values.count * 4
            return nil
        }
        var all = [Float](repeating: 0, count: counts.reduce(0, +))
        all.withUnsafeMutableBufferPointer { receive in
            values.withUnsafeBufferPointer { own in
                if !own.isEmpty { receive.baseAddress!.update(from: own.baseAddress!, count: own.count) }
            }
            var start = counts[0]
            for source in 1..<size {
                var offset = 0
                while offset < counts[source] {
                    let len = min(chunk, counts[source] - offset)
                    _ = MPI_Recv(receive.baseAddress! + start + offset, Int32(len), harmony_mpi_float(), Int32(source), 0,
                                 harmony_mpi_comm_world(), nil)
                    offset += len
                }
                start += counts[source]
            }
        }
        gatherBytes += (all.count - values.count) * 4
        return all
    }
}
