import Foundation
import Logging
import PipelineCommon

/// What keeps a training run's MLflow record true when its launcher or MLflow fails.
///
/// - Each run is tagged with its launcher (`pipeline.launcher`: host, pid, start time and PID
///   namespace, as work claims are) and a heartbeat (`pipeline.heartbeat`, milliseconds since the
///   epoch, renewed with every epoch's metrics). The next launch marks FAILED every RUNNING run
///   of its experiment whose launcher is known dead (same host, process gone) or, for a launcher
///   elsewhere, whose heartbeat is older than ``abandonedAfter``; the run's `error` tag says why.
/// - Once the run exists, MLflow being unreachable does not fail it: an epoch's metrics that
///   could not be logged are kept and sent with the next epoch's, and the closing calls (final
///   metrics, artifacts, registration, status) wait the outage out for ``outageLimit``.
public enum RunKeeping {
    public static let launcherTag = "pipeline.launcher"
    public static let heartbeatTag = "pipeline.heartbeat"
    /// A run elsewhere whose launcher has not logged an epoch for this long is abandoned.
    public static let abandonedAfter = Duration.seconds(6 * 3600)
    /// How long a run waits for MLflow to come back before it fails.
    public static let outageLimit = Duration.seconds(600)

    /// The tags a new run starts with.
    static func startTags() -> [String: String] {
        [launcherTag: WorkerIdentity.current.description, heartbeatTag: "\(MLflowClient.now())"]
    }

    /// Why `run` (RUNNING) is abandoned, or nil when its launcher may still be at work.
    static func abandonment(of run: MLflowClient.Run, now: Int64 = MLflowClient.now()) -> String? {
        let tags = Dictionary((run.data?.tags ?? []).map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
        guard let launcher = tags[launcherTag] else { return nil }
        if let identity = WorkerIdentity(name: launcher), identity.isKnownDead {
            return "its launcher (process \(identity.pid) on \(identity.host)) died before the run ended"
        }
        if let beat = tags[heartbeatTag].flatMap(Int64.init) {
            let silentMs = now - beat
            if silentMs > Int64(abandonedAfter.seconds * 1000) {
                return "its launcher (\(launcher)) has logged nothing for \(silentMs / 3_600_000) h"
            }
        }
        return nil
    }

    /// Marks the abandoned RUNNING runs of `experimentId` FAILED; returns their ids.
    static func reapAbandonedRuns(experimentId: String, mlflow: MLflowClient, logger: Logger) async throws -> [String] {
        var reaped: [String] = []
        for run in try await mlflow.searchRuns(experimentId: experimentId, filter: "attributes.status = 'RUNNING'") {
            guard run.info.status == MLflowClient.RunStatus.running.rawValue, let why = abandonment(of: run) else {
                continue
            }
            try await mlflow.logBatch(
                runId: run.info.runId, tags: ["error": "marked failed by the next launch: " + why])
            try await mlflow.setTerminated(runId: run.info.runId, status: .failed)
            logger.warning(
                "marked an abandoned training run FAILED", metadata: ["run": "\(run.info.runId)", "why": "\(why)"])
            reaped.append(run.info.runId)
        }
        return reaped
    }

    /// Runs `body`, waiting out MLflow being unreachable (see `Outage`) for ``outageLimit``.
    static func waitingOut<T: Sendable>(
        _ what: String, runId: String, logger: Logger, limit: Duration = outageLimit,
        isolation: isolated (any Actor)? = #isolation, _ body: () async throws -> T
    ) async throws -> T {
        var since: ContinuousClock.Instant?
        var pause = Duration.seconds(1)
        while true {
            do {
                let value = try await body()
                if let since {
                    logger.notice(
                        "MLflow is reachable again",
                        metadata: ["run": "\(runId)", "after_seconds": "\(Int((ContinuousClock.now - since).seconds))"])
                }
                return value
            } catch  where Outage.isOutage(error) {
                let start = since ?? .now
                if since == nil {
                    since = start
                    logger.warning(
                        "MLflow is unreachable; the run waits for it",
                        metadata: [
                            "run": "\(runId)", "while": "\(what)", "error": "\(error)",
                            "limit_seconds": "\(Int(limit.seconds))",
                        ])
                }
                guard ContinuousClock.now - start < limit else {
                    throw TrainError(
                        "MLflow was unreachable for \(Int((ContinuousClock.now - start).seconds)) s while \(what) (\(error)); run \(runId) stays RUNNING until the next launch marks it failed: train again once MLflow is back"
                    )
                }
                try await Task.sleep(for: pause)
                pause = min(pause * 2, .seconds(10))
            }
        }
    }
}

/// An epoch's metrics on their way to MLflow: what could not be logged (MLflow unreachable) is
/// kept and sent with the next epoch's, or by ``flush``.
actor EpochLog {
    private let mlflow: MLflowClient
    private let runId: String
    private let logger: Logger
    private var pending: [MLflowClient.Metric] = []

    init(mlflow: MLflowClient, runId: String, logger: Logger) {
        self.mlflow = mlflow
        self.runId = runId
        self.logger = logger
    }

    func log(_ metrics: [String: Double], epoch: Int) async {
        pending += metrics.sorted { $0.key < $1.key }.map {
            MLflowClient.Metric(key: $0.key, value: $0.value, step: Int64(epoch))
        }
        do {
            try await send()
        } catch  where Outage.isOutage(error) {
            logger.warning(
                "MLflow is unreachable; this epoch's metrics are kept and sent with the next",
                metadata: ["run": "\(runId)", "epoch": "\(epoch)", "kept": "\(pending.count)", "error": "\(error)"])
        } catch {
            logger.warning(
                "MLflow refused the epoch's metrics; they are dropped",
                metadata: ["run": "\(runId)", "epoch": "\(epoch)", "dropped": "\(pending.count)", "error": "\(error)"])
            pending = []
        }
    }

    /// Sends what is kept, waiting MLflow out.
    func flush() async throws {
        try await RunKeeping.waitingOut("logging the kept epoch metrics", runId: runId, logger: logger) {
            try await send()
        }
    }

    private func send() async throws {
        // What is sent is taken off only once sent: another epoch may be added meanwhile.
        let batch = pending
        guard !batch.isEmpty else { return }
        try await mlflow.logBatch(
            runId: runId, metrics: batch, tags: [RunKeeping.heartbeatTag: "\(MLflowClient.now())"])
        pending.removeFirst(min(batch.count, pending.count))
    }
}
