// Throughput and latency of a running harmonyd, measured over its socket:
//   1. single-cell MAP round trips on one connection (idle server): p50/p99;
//   2. the same while a background refit runs (REFIT sent first, measured until STATS shows it finished);
//   3. throughput: several connections each keep a window of 1000-cell MAP requests in flight;
//   4. single-cell MAP_TRANSIENT round trips (nothing logged);
//   5. the floors a durable round trip cannot beat, in the same run: the disk's pwrite + fdatasync of a small
//      record in the state directory, and a bare Unix-socket round trip between two threads.
// Durability is whatever the daemon does (the WAL is always on). Client threads run in this process, through
// HarmonyClient's blocking connection (pipelined with `send`/`receive` in the throughput phase).
import Foundation
import HarmonyClient
import HarmonyCore
import HarmonyProtocol
import HarmonyServer
import HarmonySystem
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Measures a harmonyd over its socket; `selfBench` starts one in-process on a simulated reference.
public enum ServerBenchmark {
    /// How much to measure.
    public struct Options: Sendable {
        /// Connections of the throughput phase.
        public var clients = 4
        /// Cells per MAP request of the throughput phase.
        public var cellsPerRequest = 1000
        /// Requests each throughput connection keeps in flight.
        public var window = 8
        /// Seconds of the throughput phase.
        public var seconds = 3.0
        /// Single-cell round trips of the idle latency phase.
        public var latencySamples = 5000

        /// The defaults (4 clients, 1000-cell requests, window 8, 3 s, 5000 samples).
        public init() {}
    }

    /// What was measured.
    public struct Report: Sendable, CustomStringConvertible {
        /// Cells acknowledged per second in the throughput phase.
        public var cellsPerSecond: Double
        /// Single-cell round trip percentiles on an idle server, microseconds.
        public var idleP50: Double, idleP99: Double
        /// The server's own view of the same requests (frame read to reply queued, from STATS), microseconds.
        public var serverP50: Double, serverP99: Double
        /// Single-cell round trip percentiles while a refit ran, microseconds (0 when no refit ran).
        public var refitP50: Double, refitP99: Double
        /// Round trips measured during the refit.
        public var refitSamples: Int
        /// Single-cell MAP_TRANSIENT round trip percentiles, microseconds.
        public var transientP50: Double = 0, transientP99: Double = 0
        /// p99 of a small pwrite + fdatasync on the state directory's disk, microseconds (0: not measured).
        public var fsyncP99: Double = 0
        /// p99 of a bare 16-byte Unix-socket round trip between two threads, microseconds (0: not measured).
        public var socketP99: Double = 0

        /// One line with every number.
        public var description: String {
            let floor = fsyncP99 + socketP99
            let ratio = floor > 0 ? String(format: "%.2f", idleP99 / floor) : "?"
            return "throughput \(Int(cellsPerSecond)) cells/s; single-cell round trip p50 \(Int(idleP50)) us, "
                + "p99 \(Int(idleP99)) us (in the server p50 \(Int(serverP50)) us, p99 \(Int(serverP99)) us); during refit (\(refitSamples) samples) p50 \(Int(refitP50)) us, "
                + "p99 \(Int(refitP99)) us; transient p50 \(Int(transientP50)) us, p99 \(Int(transientP99)) us; "
                + "floor: fdatasync p99 \(Int(fsyncP99)) us + socket round trip p99 \(Int(socketP99)) us = "
                + "\(Int(floor)) us, durable p99 / floor = \(ratio)"
        }
    }

    /// Runs the three phases against the daemon at `socketPath`, drawing query cells from `cells`.
    public static func measure(socketPath: String, cells: Matrix<Float>, options: Options = Options()) throws -> Report {
        let d = cells.cols
        let probe = try HarmonyClient.connect(socketPath)
        func single(_ i: Int) -> MapRequest {
            MapRequest(batch: "bench-latency", cellCount: 1, dimensions: d, values: cells.row(i % cells.rows))
        }
        // Phase 1: idle latency.
        var idle: [Double] = []
        for i in 0..<options.latencySamples {
            let start = DispatchTime.now().uptimeNanoseconds
            _ = try probe.roundTrip(single(i), as: MapReply.self)
            idle.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1000)
        }
        let control = try HarmonyClient.connect(socketPath)
        let server = try control.roundTrip(StatsRequest(), as: StatsReply.self).latency
        // Phase 2: latency while a refit runs.
        var during: [Double] = []
        if try control.roundTrip(RefitRequest(), as: RefitReply.self).accepted {
            var i = 0
            while true {
                if i % 50 == 0, try !control.roundTrip(StatsRequest(), as: StatsReply.self).refitRunning { break }
                let start = DispatchTime.now().uptimeNanoseconds
                _ = try probe.roundTrip(single(i), as: MapReply.self)
                during.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1000)
                i += 1
            }
        }
        // Phase 3: throughput.
        let total = try throughput(socketPath: socketPath, cells: cells, options: options)
        // Phase 4: transient latency.
        var transient: [Double] = []
        for i in 0..<options.latencySamples {
            let start = DispatchTime.now().uptimeNanoseconds
            _ = try probe.roundTrip(TransientMapRequest(single(i)), as: TransientMapReply.self)
            transient.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1000)
        }
        return Report(cellsPerSecond: total, idleP50: percentile(idle, 0.5), idleP99: percentile(idle, 0.99),
                      serverP50: Double(server.p50), serverP99: Double(server.p99),
                      refitP50: percentile(during, 0.5), refitP99: percentile(during, 0.99),
                      refitSamples: during.count, transientP50: percentile(transient, 0.5),
                      transientP99: percentile(transient, 0.99))
    }

    /// p99 (microseconds) of writing a 64-byte record into preallocated space of a file in `directory` and
    /// fdatasync'ing it, as the log does for one single-cell MAP.
    static func fsyncFloor(directory: String, samples: Int) throws -> Double {
        let path = directory + "/fsync-floor"
        let fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw ServerError.io("cannot create \(path): \(errnoText())") }
        defer {
            close(fd)
            unlink(path)
        }
        let record = [UInt8](repeating: 7, count: 64)
        let zeros = [UInt8](repeating: 0, count: 64 * samples)
        guard zeros.withUnsafeBytes({ pwrite(fd, $0.baseAddress, $0.count, 0) }) == zeros.count, fdatasync(fd) == 0 else {
            throw ServerError.io("cannot prepare \(path): \(errnoText())")
        }
        var times: [Double] = []
        for i in 0..<samples {
            let start = DispatchTime.now().uptimeNanoseconds
            guard record.withUnsafeBytes({ pwrite(fd, $0.baseAddress, $0.count, off_t(64 * i)) }) == 64,
                  fdatasync(fd) == 0 else { throw ServerError.io("cannot write \(path): \(errnoText())") }
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1000)
        }
        return percentile(times, 0.99)
    }

    /// p99 (microseconds) of a 16-byte round trip over a Unix stream socket pair, echoed by another thread.
    static func socketFloor(samples: Int) throws -> Double {
        var pair: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &pair) == 0 else {
            throw ServerError.io("socketpair failed: \(errnoText())")
        }
        let (near, far) = (pair[0], pair[1])
        defer {
            close(near)
            close(far)
        }
        let echoed = DispatchSemaphore(value: 0)
        Thread {
            var buffer = [UInt8](repeating: 0, count: 16)
            for _ in 0..<samples {
                guard readFully(far, &buffer), buffer.withUnsafeBytes({ write(far, $0.baseAddress, 16) }) == 16 else { break }
            }
            echoed.signal()
        }.start()
        var buffer = [UInt8](repeating: 1, count: 16)
        var times: [Double] = []
        for _ in 0..<samples {
            let start = DispatchTime.now().uptimeNanoseconds
            guard buffer.withUnsafeBytes({ write(near, $0.baseAddress, 16) }) == 16, readFully(near, &buffer) else {
                throw ServerError.io("the socket round trip failed: \(errnoText())")
            }
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1000)
        }
        echoed.wait()
        return percentile(times, 0.99)
    }

    // Reads exactly `buffer.count` bytes; false on EOF or error.
    private static func readFully(_ fd: Int32, _ buffer: inout [UInt8]) -> Bool {
        let count = buffer.count
        return (try? buffer.withUnsafeMutableBytes { try SystemCall.readFully(fd, into: $0) }) == count
    }

    private static func throughput(socketPath: String, cells: Matrix<Float>, options: Options) throws -> Double {
        let n = options.cellsPerRequest, d = cells.cols
        let rows = (0..<n).map { $0 % cells.rows }
        let values = cells.selectingRows(rows).values
        // Cells answered per client (-1: it failed), each written once by its client's thread.
        let counts = Mutex([Int](repeating: -1, count: options.clients))
        let start = DispatchTime.now().uptimeNanoseconds
        let end = start + UInt64(options.seconds * 1e9)
        DispatchQueue.concurrentPerform(iterations: options.clients) { c in
            guard let connection = try? HarmonyClient.connect(socketPath) else { return }
            let request = MapRequest(batch: "bench-\(c)", cellCount: n, dimensions: d, values: values)
            var inFlight: [UInt32] = [], done = 0
            do {
                while DispatchTime.now().uptimeNanoseconds < end || !inFlight.isEmpty {
                    while inFlight.count < options.window && DispatchTime.now().uptimeNanoseconds < end {
                        inFlight.append(try connection.send(request))
                    }
                    _ = try connection.receive(requestID: inFlight.removeFirst(), as: MapReply.self)
                    done += n
                }
                counts.withLock { $0[c] = done }
            } catch {
                counts.withLock { $0[c] = -1 }
            }
        }
        let answered = counts.withLock { $0 }
        guard !answered.contains(-1) else { throw ServerError.state("a throughput client failed") }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return Double(answered.reduce(0, +)) / seconds
    }

    private static func errnoText() -> String { String(cString: strerror(errno)) }

    private static func percentile(_ samples: [Double], _ fraction: Double) -> Double {
        guard !samples.isEmpty else { return 0 }
        let sorted = samples.sorted()
        return sorted[min(sorted.count - 1, Int((Double(sorted.count) * fraction).rounded(.up)) - 1)]
    }

    /// Fits a simulated reference (`referenceCells` cells, 30 dims, K 100), serves it in-process from a temporary
    /// directory with `settings`, and measures it.
    public static func selfBench(referenceCells: Int = 20_000, settings: BenchServer.Settings = .init(),
                                 options: Options = Options()) throws -> Report {
        let data = try SimulatedReference(cells: referenceCells * 2, dims: 30, clusters: 100, types: 8, seed: 1)
        let directory = "/tmp/harmonyd-bench-\(getpid())"
        return try BenchServer.run(model: data.model, directory: directory, settings: settings) { configuration in
            // A few thousand accumulated cells give the refit phase something to fold in.
            let seed = try HarmonyClient.connect(configuration.socketPath)
            let query = data.query
            _ = try seed.roundTrip(MapRequest(batch: "bench-seed", cellCount: 2000, dimensions: 30,
                                              values: query.selectingRows(0..<2000).values), as: MapReply.self)
            var report = try measure(socketPath: configuration.socketPath, cells: query, options: options)
            report.fsyncP99 = settings.syncWAL ? try fsyncFloor(directory: directory, samples: options.latencySamples) : 0
            report.socketP99 = try socketFloor(samples: options.latencySamples)
            return report
        }
    }
}
