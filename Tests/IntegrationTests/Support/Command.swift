import Foundation
import TestSupport

/// Runs one of the package's built executables (from the same build directory as the tests).
enum Command {
    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    static var buildDirectory: URL {
        // The test runner lives in the build products directory, beside the executables.
        URL(
            fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
                ?? CommandLine.arguments[0]
        )
        .deletingLastPathComponent()
    }

    /// Runs the executable to completion; output goes through files so no pipe can fill up,
    /// and the wait is a sleep loop, so no cooperative thread blocks.
    /// With a `timeout`, a run that outlasts it is killed and reported (status -1).
    static func run(
        _ executable: String, _ arguments: [String], environment: [String: String], timeout: Duration? = nil
    ) async throws -> Result {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        FileManager.default.createFile(atPath: dir.file("out"), contents: nil)
        FileManager.default.createFile(atPath: dir.file("err"), contents: nil)
        let process = Process()
        process.executableURL =
            executable.hasPrefix("/")
            ? URL(fileURLWithPath: executable) : buildDirectory.appendingPathComponent(executable)
        process.arguments = arguments
        process.environment = environment
        process.standardOutput = FileHandle(forWritingAtPath: dir.file("out"))
        process.standardError = FileHandle(forWritingAtPath: dir.file("err"))
        try process.run()
        let deadline = timeout.map { ContinuousClock.now + $0 }
        while process.isRunning {
            if let deadline, ContinuousClock.now > deadline {
                kill(process.processIdentifier, SIGKILL)
                while process.isRunning { try await Task.sleep(for: .milliseconds(20)) }
                let stderr = (try? String(contentsOfFile: dir.file("err"), encoding: .utf8)) ?? ""
                return Result(status: -1, stdout: "", stderr: "timed out after \(timeout!): " + stderr)
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        return Result(
            status: process.terminationStatus,
            stdout: (try? String(contentsOfFile: dir.file("out"), encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOfFile: dir.file("err"), encoding: .utf8)) ?? "")
    }
}
