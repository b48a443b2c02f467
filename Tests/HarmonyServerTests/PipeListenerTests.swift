import Foundation
import HarmonyBenchmark
import HarmonyClient
import XCTest
@testable import HarmonyServer

final class PipeListenerTests: XCTestCase {
    private func data() throws -> SimulatedReference { try TestModels.make(cells: 600, seed: 5) }

    func testSocketIsCreatedWithTheRequestedModeAndRemovedOnShutdown() throws {
        let server = try RunningServer(model: try data().model)
        var info = stat()
        XCTAssertEqual(lstat(server.socketPath, &info), 0)
        XCTAssertEqual(info.st_mode & S_IFMT, S_IFSOCK)
        XCTAssertEqual(info.st_mode & 0o777, 0o600)
        XCTAssertTrue(server.stop())
        XCTAssertFalse(StateFiles.exists(server.socketPath))

        let open = try RunningServer(model: try data().model) { $0.socketMode = 0o660 }
        XCTAssertEqual(lstat(open.socketPath, &info), 0)
        XCTAssertEqual(info.st_mode & 0o777, 0o660)
        XCTAssertTrue(open.stop())
    }

    func testALiveDaemonsSocketIsNeverStolenButAStaleOneIsReplaced() throws {
        let live = try RunningServer(model: try data().model)
        // Same socket, another state directory: the socket check refuses.
        XCTAssertThrowsError(try RunningServer(model: try data().model, directory: live.directory) {
            $0.stateDirectory = live.directory.path + "/other-state"
        }) { error in
            XCTAssertTrue("\(error)".contains("refusing to steal"), "\(error)")
        }
        // Same state directory, another socket: the directory lock refuses before the log is touched.
        XCTAssertThrowsError(try RunningServer(model: try data().model, directory: live.directory) {
            $0.socketPath = live.directory.path + "/other.sock"
        }) { error in
            XCTAssertTrue("\(error)".contains("in use by another harmonyd"), "\(error)")
        }
        XCTAssertEqual(try live.client().info().modelVersion, 1, "the first daemon still serves")
        XCTAssertTrue(live.stop())

        // A socket file nobody listens on (a daemon killed with SIGKILL leaves one behind).
        let directory = try TemporaryDirectory()
        let path = directory.path + "/h.sock"
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in for (i, b) in path.utf8.enumerated() { raw[i] = b } }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        XCTAssertEqual(bound, 0)
        close(fd)
        XCTAssertTrue(StateFiles.exists(path))
        let replaced = try RunningServer(model: try data().model, directory: directory)
        XCTAssertEqual(try replaced.client().info().modelVersion, 1)
        XCTAssertTrue(replaced.stop())
    }

    func testARegularFileAtTheSocketPathIsRefused() throws {
        let directory = try TemporaryDirectory()
        try StateFiles.writeAtomically(Array("not a socket".utf8), to: directory.path + "/h.sock")
        XCTAssertThrowsError(try RunningServer(model: try data().model, directory: directory)) { error in
            XCTAssertTrue("\(error)".contains("is not a socket"), "\(error)")
        }
    }

    func testAllowedUIDsAreCheckedWithPeerCredentials() throws {
        let me = getuid()
        let refusing = try RunningServer(model: try data().model) { $0.allowedUIDs = [me &+ 1] }
        XCTAssertThrowsError(try refusing.client().info(), "a peer whose uid is not listed is disconnected")
        XCTAssertTrue(refusing.stop())
        let allowing = try RunningServer(model: try data().model) { $0.allowedUIDs = [me &+ 1, me] }
        XCTAssertEqual(try allowing.client().info().modelVersion, 1)
        XCTAssertTrue(allowing.stop())
    }
}
