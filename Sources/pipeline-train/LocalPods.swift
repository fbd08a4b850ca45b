import Foundation
import Synchronization
import TrainStage

/// `--local-pods`: one `pipeline-train shard` process per node on this machine, standing in for
/// the Job's pods; each one's standard error goes to a file so a failure can be quoted.
final class LocalPods: Sendable {
    private let processes: Mutex<[Process]>
    private let logs: [String]

    /// Starts `nodes` shard processes for `runId`, logging under `directory`.
    init(runId: String, nodes: Int, executable: String, passThrough: [String], directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var started: [Process] = []
        var logs: [String] = []
        for rank in 0..<nodes {
            let log = "\(directory)/shard-\(rank).log"
            _ = FileManager.default.createFile(atPath: log, contents: nil)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = ["shard", "--run", runId, "--rank", "\(rank)"] + passThrough
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle(forWritingAtPath: log)
            try process.run()
            started.append(process)
            logs.append(log)
        }
        self.processes = Mutex(started)
        self.logs = logs
    }

    /// Throws when a shard process has ended other than with success (a pod past its retries).
    func check() throws {
        let failure: (Int, Process)? = processes.withLock { processes in
            processes.enumerated().first { !$0.element.isRunning && !Self.succeeded($0.element) }
        }
        guard let (rank, process) = failure else { return }
        let how =
            process.terminationReason == .uncaughtSignal
            ? "was killed by signal \(process.terminationStatus)" : "exited with status \(process.terminationStatus)"
        let tail = ((try? String(contentsOfFile: logs[rank], encoding: .utf8)) ?? "")
            .split(separator: "\n").suffix(10).joined(separator: "\n  ")
        throw TrainError(
            "local pod shard-\(rank) (pid \(process.processIdentifier)) \(how)"
                + (tail.isEmpty ? "" : "; its last lines:\n  \(tail)"))
    }

    private static func succeeded(_ process: Process) -> Bool {
        process.terminationReason == .exit && process.terminationStatus == 0
    }
}
