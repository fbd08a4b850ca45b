import Foundation
import Logging
import PipelineCommon

/// `sprint work`: runs a queue's tasks in order, each in its own process, and records each in
/// the queue's ledger. Workers sharing a queue share it through the manifest store's claims, so
/// no task runs twice at once; a task is recorded `ok` only once its metrics file is durable,
/// and that record is written last, so a killed worker's task runs again and a finished one
/// never does (unless `--force-rerun`, which appends a new record beside the old).
public struct SprintWorker: Sendable {
    public struct Options: Sendable {
        public var continueOnError = false
        public var forceRerun = false
        public var maxTasks: Int?
        public init() {}
    }

    public struct Report: Sendable, Equatable {
        public var ran = 0
        public var ok = 0
        public var failed = 0
        /// Done before (an ok record in the ledger): not run again.
        public var skipped = 0
        /// The failure that stopped the worker (without `--continue-on-error`).
        public var stoppedBy: String?
    }

    let queue: SprintQueueFile
    let executionRoot: String
    let manifests: any ManifestStore
    let options: Options
    /// The command that runs one task: `[executable, arguments…]`, to which the worker adds
    /// `--task <file> --out <directory>`.
    let taskCommand: [String]
    let logger: Logger
    let worker = WorkerIdentity.current.description

    public init(
        queue: SprintQueueFile, executionRoot: String, manifests: any ManifestStore, options: Options,
        taskCommand: [String], logger: Logger
    ) {
        self.queue = queue
        self.executionRoot = executionRoot
        self.manifests = manifests
        self.options = options
        self.taskCommand = taskCommand
        self.logger = logger
    }

    /// The directory of this queue's ledger and task attempts.
    public var queueDirectory: String { executionRoot + "/" + queue.queue }

    public func run() async throws -> Report {
        try FileManager.default.createDirectory(atPath: queueDirectory, withIntermediateDirectories: true)
        let ledger = SprintLedger(path: queueDirectory + "/ledger.jsonl")
        // The claims belong to this execution root (the ledger decides what is done: a fresh
        // root starts the queue over), and a forced pass is this worker's own.
        let workQueue =
            "sprint/\(queue.sprint)/\(queue.queue)/\(try rootIdentity())"
            + (options.forceRerun ? "/rerun-\(UUID().uuidString.prefix(8).lowercased())" : "")
        let encoder = SprintJSON.encoder()
        // Claims go in key order: the plan's position first keeps the queue's order.
        try await manifests.enqueue(
            queue: workQueue,
            items: try queue.tasks.enumerated().map {
                (
                    String(format: "%06d-", $0.offset) + $0.element.id,
                    String(decoding: try encoder.encode($0.element), as: UTF8.self)
                )
            })
        var report = Report()
        let lease = Duration.seconds(Int64((queue.tasks.map(\.timeoutSeconds).max() ?? 1800) + 120))
        while report.stoppedBy == nil {
            if let max = options.maxTasks, report.ran >= max { break }
            var claims = try await manifests.claimBatch(queue: workQueue, worker: worker, limit: 1, lease: lease)
            if claims.isEmpty, try await !manifests.releaseClaimsOfDeadLocalWorkers(queue: workQueue).isEmpty {
                claims = try await manifests.claimBatch(queue: workQueue, worker: worker, limit: 1, lease: lease)
            }
            // Nothing left to claim: the rest is done, or in the hands of live workers.
            guard let claim = claims.first else { break }
            guard let task = try? SprintJSON.decoder.decode(SprintTask.self, from: Data(claim.payload.utf8)) else {
                try await manifests.fail(queue: workQueue, worker: worker, failures: [(claim.key, "unreadable task")])
                continue
            }
            let records = try ledger.records()
            if !options.forceRerun, SprintLedger.latestCompletions(records)[task.id]?.event == .ok {
                report.skipped += 1
                try await manifests.complete(queue: workQueue, worker: worker, keys: [claim.key])
                continue
            }
            let attempt = records.filter { $0.task == task.id && $0.event == .started }.count + 1
            let outcome = try await runTask(task, attempt: attempt, ledger: ledger)
            report.ran += 1
            if outcome.event == .ok {
                report.ok += 1
            } else {
                report.failed += 1
                if !options.continueOnError {
                    report.stoppedBy =
                        "\(task.id): \(outcome.failureClass?.rawValue ?? "failed"): \(outcome.reason ?? "")"
                }
            }
            try await manifests.complete(queue: workQueue, worker: worker, keys: [claim.key])
        }
        return report
    }

    /// A random id made once per queue directory (`queue-id`), the same for every worker that
    /// shares the directory: created beside and hard-linked into place, so two workers starting
    /// at once agree on one.
    func rootIdentity() throws -> String {
        let path = queueDirectory + "/queue-id"
        if let existing = try? String(contentsOfFile: path, encoding: .utf8), existing.count == 16 { return existing }
        let candidate = String(UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16))
        let temporary = path + ".\(getpid()).partial"
        try SprintTaskRunner.writeDurably(Data(candidate.utf8), to: temporary)
        defer { unlink(temporary) }
        if link(temporary, path) != 0, errno != EEXIST {
            throw SprintError("cannot create \(path): \(String(cString: strerror(errno)))")
        }
        guard let chosen = try? String(contentsOfFile: path, encoding: .utf8), chosen.count == 16 else {
            throw SprintError("\(path) is damaged: remove it (the queue's claims start over)")
        }
        return chosen
    }

    /// One attempt: `started` recorded, the task's process run under its timeout, then the
    /// completion recorded once what it wrote is checked.
    func runTask(_ task: SprintTask, attempt: Int, ledger: SprintLedger) async throws -> LedgerRecord {
        let relative = "\(queue.queue)/\(task.id)/attempt-\(attempt)"
        let directory = executionRoot + "/" + relative
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let taskFile = directory + "/task.json"
        try SprintTaskRunner.writeDurably(try SprintJSON.encoder().encode(task), to: taskFile)
        var record = LedgerRecord(
            event: .started, task: task.id, queue: queue.queue, kind: task.kind,
            model: "\(task.model.name)@\(task.model.version)", dataset: task.dataset.id, worker: worker,
            attempt: attempt, at: Self.now(), directory: relative, forced: options.forceRerun ? true : nil)
        try await append(record, to: ledger, sprint: task.sprint)
        logger.info(
            "task started",
            metadata: ["task": "\(task.id)", "kind": "\(task.kind.rawValue)", "model": "\(record.model)"])

        let started = ContinuousClock.now
        let (status, timedOut) = try await launch(
            taskCommand + ["--task", taskFile, "--out", directory], directory: directory,
            timeout: task.timeoutSeconds)
        record.runtimeSeconds = (ContinuousClock.now - started).seconds
        record.exitStatus = status
        record.at = Self.now()
        if timedOut {
            record.event = .failed
            record.failureClass = .timeout
            record.reason = "no result within \(Int(task.timeoutSeconds)) s; stopped"
        } else if status == 0, let metrics = Self.readMetrics(directory + "/" + SprintTaskRunner.metricsFile) {
            record.event = .ok
            // A train-evaluate task names the version it registered.
            record.model = metrics.model
            record.artifact = relative + "/" + SprintTaskRunner.metricsFile
            record.metrics = metrics.metrics.merging(
                metrics.recall.map { ("recall/" + $0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
        } else if status == 0 {
            record.event = .failed
            record.failureClass = .crash
            record.reason = "exited 0 without a readable \(SprintTaskRunner.metricsFile)"
        } else if status == SprintTaskRunner.classifiedFailureStatus,
            let data = FileManager.default.contents(atPath: directory + "/" + SprintTaskRunner.failureFile),
            let failure = try? SprintJSON.decoder.decode(SprintTaskRunner.Failure.self, from: data)
        {
            record.event = .failed
            record.failureClass = failure.failureClass
            record.reason = failure.reason
        } else {
            record.event = .failed
            record.failureClass = .crash
            record.reason =
                Self.lastLine(of: directory + "/stderr.log").map { "exit status \(status): \($0)" }
                ?? "exit status \(status)"
        }
        try await append(record, to: ledger, sprint: task.sprint)
        logger.info(
            "task finished",
            metadata: [
                "task": "\(task.id)", "event": "\(record.event.rawValue)",
                "seconds": "\(String(format: "%.2f", record.runtimeSeconds ?? 0))",
                "reason": "\(record.reason ?? "")",
            ])
        return record
    }

    /// The ledger line, then the same record in the manifest store (the ledger decides: a
    /// store that missed a record is only warned about).
    func append(_ record: LedgerRecord, to ledger: SprintLedger, sprint: String) async throws {
        try ledger.append(record)
        let value = String(decoding: (try? SprintJSON.encoder().encode(record)) ?? Data(), as: UTF8.self)
        let name =
            "\(sprint)/\(record.queue)/\(record.task)/\(record.attempt)-\(record.event.rawValue)-\(record.worker)"
        do {
            try await manifests.setCheckpoint(stage: "sprint", name: name, value: value)
        } catch {
            logger.warning("ledger record not copied to the manifest store", metadata: ["error": "\(error)"])
        }
    }

    /// Runs `arguments` with stdout and stderr in `directory`; the exit status, and whether it
    /// was stopped for running past `timeout` seconds.
    func launch(_ arguments: [String], directory: String, timeout: Double) async throws -> (Int32, Bool) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: arguments[0])
        process.arguments = Array(arguments.dropFirst())
        for name in ["stdout.log", "stderr.log"] {
            FileManager.default.createFile(atPath: directory + "/" + name, contents: nil)
        }
        process.standardOutput = FileHandle(forWritingAtPath: directory + "/stdout.log")
        process.standardError = FileHandle(forWritingAtPath: directory + "/stderr.log")
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let deadline = ContinuousClock.now + .milliseconds(Int64(timeout * 1000))
        while process.isRunning, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(50))
        }
        let group = process.processIdentifier
        // Signalled only while it runs: once reaped, its pid may belong to another process.
        guard process.isRunning else { return (process.terminationStatus, false) }
        Self.signal(group, SIGTERM)
        let grace = ContinuousClock.now + .seconds(5)
        while process.isRunning, ContinuousClock.now < grace { try? await Task.sleep(for: .milliseconds(50)) }
        if process.isRunning { Self.signal(group, SIGKILL) }
        while process.isRunning { try? await Task.sleep(for: .milliseconds(20)) }
        return (process.terminationStatus, true)
    }

    /// `signal` to the process group `pid` leads (Foundation starts each child as the leader of
    /// a group of its own), else to the process alone.
    static func signal(_ pid: Int32, _ signal: Int32) {
        if kill(-pid, signal) != 0 { kill(pid, signal) }
    }

    static func readMetrics(_ path: String) -> SprintTaskRunner.MetricsFile? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return try? SprintJSON.decoder.decode(SprintTaskRunner.MetricsFile.self, from: data)
    }

    static func lastLine(of path: String) -> String? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline).last.map {
            String($0.prefix(500))
        }
    }

    static func now() -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date())
    }
}
