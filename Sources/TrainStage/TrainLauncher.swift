import Foundation
import Learning
import Logging
import PipelineCommon

/// Stage 3: resolves the dataset, shards it, runs the configured backend, and tracks it all
/// in MLflow: the whole effective configuration and the dataset version as params, metrics
/// per epoch as they happen, the model and its card, confusion matrix and curves as
/// artifacts, and a new version of the registered model tagged with the run and dataset.
public struct TrainLauncher: Sendable {
    public struct Outcome: Sendable {
        public let runId: String
        public let datasetVersion: String
        public let metrics: [String: Double]
        public let modelVersion: MLflowClient.ModelVersion?
        /// Set when an approval gate was given: whether it passed, and why.
        public let approval: (passed: Bool, reason: String)?
        public let images: Int
        public let seconds: Double
    }

    let configuration: PipelineConfiguration
    let objects: any ObjectStore
    let manifests: any ManifestStore
    let mlflow: MLflowClient
    let logger: Logger

    public init(
        configuration: PipelineConfiguration, objects: any ObjectStore, manifests: any ManifestStore,
        mlflow: MLflowClient, logger: Logger
    ) {
        self.configuration = configuration
        self.objects = objects
        self.manifests = manifests
        self.mlflow = mlflow
        self.logger = logger
    }

    /// The normalize version to train on: `id`, or the newest published one of the dataset
    /// `named` (the pipeline's `ingest.dataset`).
    public func resolveDataset(_ id: String?, named dataset: String) async throws -> DatasetVersion {
        if let id {
            guard let version = try await manifests.version(id) else {
                throw TrainError("no dataset version \(id); see pipelinectl datasets list")
            }
            guard version.stage == "normalize", version.status == .published else {
                throw TrainError(
                    "\(id) is a \(version.status.rawValue) \(version.stage) version; train on a published normalize version"
                )
            }
            return version
        }
        guard let version = try await manifests.latestPublished(name: dataset, stage: "normalize") else {
            throw TrainError("dataset \(dataset) has no published normalize version; run pipeline-normalize first")
        }
        return version
    }

    /// - Parameter submitJob: kubernetes only: starts the Job's pods for the run id it is given
    ///   (`kubectl apply`, or local processes standing in for pods) and returns the check
    ///   that fails the run as soon as a pod has failed past its retries.
    public func run(
        dataset: DatasetVersion, approveIf gate: ApprovalGate?,
        submitJob: @escaping @Sendable (String) async throws -> JobHealthCheck = { _ in
            throw TrainError("the kubernetes backend needs --apply (kubectl) or --local-pods")
        }
    ) async throws -> Outcome {
        let started = ContinuousClock.now
        let staging = StagingArea(configuration.staging, logger: logger)
        let experiment = try await mlflow.experiment(named: configuration.mlflow.experiment)
        do {
            _ = try await RunKeeping.reapAbandonedRuns(
                experimentId: experiment.experimentId, mlflow: mlflow, logger: logger)
        } catch {
            logger.warning("could not look for abandoned runs", metadata: ["error": "\(error)"])
        }
        let run = try await mlflow.createRun(
            experimentId: experiment.experimentId, name: "\(configuration.train.backend.rawValue)-\(dataset.id)",
            tags: [
                "dataset_version": dataset.id, "backend": configuration.train.backend.rawValue,
                "mlflow.source.name": "pipeline-train",
            ].merging(RunKeeping.startTags()) { a, _ in a })
        let runId = run.info.runId
        let logger = self.logger
        // From here on MLflow being unreachable is waited out (see `RunKeeping`).
        func keeping<T: Sendable>(_ what: String, _ body: () async throws -> T) async throws -> T {
            try await RunKeeping.waitingOut(what, runId: runId, logger: logger, body)
        }
        let epochs = EpochLog(mlflow: mlflow, runId: runId, logger: logger)
        let stagingRun = try staging.makeRun(stage: "train", runId: runId)
        do {
            let params = params(dataset: dataset)
            try await keeping("logging the run's parameters") {
                try await mlflow.logBatch(runId: runId, params: params)
            }
            let set = try await TrainingSet.load(
                version: dataset, configuration: configuration, manifests: manifests, objects: objects,
                workDirectory: stagingRun.outputDirectory)
            try await writeShards(set, runId: runId)
            logger.info(
                "training set",
                metadata: [
                    "dataset": "\(dataset.id)", "training": "\(set.training.count)",
                    "validation": "\(set.validation.count)", "unlabelled": "\(set.unlabelled)",
                ])
            let context = TrainContext(
                configuration: configuration, set: set, objects: objects, run: stagingRun, runId: runId,
                logger: logger,
                logEpoch: { metrics, epoch in await epochs.log(metrics, epoch: epoch) },
                submitJob: { try await submitJob(runId) })
            let result = try await configuration.train.backend.implementation.train(context)
            try await epochs.flush()
            try await logArtifacts(result, run: run, directory: stagingRun.outputDirectory, keeping: keeping)
            let final = result.metrics.sorted { $0.key < $1.key }.map {
                MLflowClient.Metric(key: "final_" + $0.key, value: $0.value)
            }
            try await keeping("logging the final metrics") { try await mlflow.logBatch(runId: runId, metrics: final) }
            let model = configuration.train.registeredModel
            _ = try await keeping("registering the model") { try await mlflow.registeredModel(named: model) }
            var versionTags = [
                "run_id": runId, "dataset_version": dataset.id,
                "val_accuracy": result.metrics["val_accuracy"].map { String(format: "%.4f", $0) } ?? "",
            ]
            // What an evaluation sprint filters the catalog by, without downloading the model.
            if let model = result.model { versionTags["parameters"] = "\(model.header.parameterCount)" }
            if let bytes = Self.modelBytes(result) { versionTags["model_bytes"] = "\(bytes)" }
            // Idempotent: a creation whose answer was lost to an outage is found, not made twice.
            let version = try await keeping("registering the model version") {
                if let made = try await mlflow.searchModelVersions(name: model).first(where: { $0.runId == runId }) {
                    return made
                }
                return try await mlflow.createModelVersion(
                    name: model, source: run.info.artifactUri + "/model", runId: runId, tags: versionTags)
            }
            var approval: (Bool, String)?
            if let gate {
                let verdict = gate.evaluate(result.metrics)
                approval = verdict
                if verdict.passed {
                    try await keeping("moving the approved alias") {
                        try await mlflow.setAlias(name: model, alias: "approved", version: version.version)
                    }
                }
                let approvalTag = (verdict.passed ? "approved: " : "not approved: ") + verdict.reason
                try await keeping("tagging the approval") {
                    try await mlflow.logBatch(runId: runId, tags: ["approval": approvalTag])
                }
            }
            try await keeping("ending the run") { try await mlflow.setTerminated(runId: runId, status: .finished) }
            await stagingRun.finish(succeeded: true)
            let images = set.training.count
            return Outcome(
                runId: runId, datasetVersion: dataset.id, metrics: result.metrics, modelVersion: version,
                approval: approval, images: images, seconds: (ContinuousClock.now - started).seconds)
        } catch {
            try? await mlflow.logBatch(runId: runId, tags: ["error": String("\(error)".prefix(4000))])
            try? await mlflow.setTerminated(runId: runId, status: .failed)
            await stagingRun.finish(succeeded: false)
            throw error
        }
    }

    /// Every effective configuration value (secrets are redacted already) and the dataset.
    func params(dataset: DatasetVersion) -> [String: String] {
        var params: [String: String] = ["dataset_version": dataset.id, "dataset_name": dataset.name]
        for value in configuration.effectiveValues { params[value.key] = value.display ?? "" }
        return params
    }

    /// `<train.prefix><run>/shard-<rank>.jsonl`: what each node trains on, kept with the run.
    func writeShards(_ set: TrainingSet, runId: String) async throws {
        let settings = configuration.train
        for rank in 0..<settings.nodes {
            let lines = set.shard(rank: rank, nodes: settings.nodes, limit: settings.imagesPerNode).map {
                String(decoding: (try? JSONEncoder.canonical.encode($0)) ?? Data(), as: UTF8.self)
            }
            _ = try await objects.put(
                "\(settings.prefix)\(runId)/shard-\(rank).jsonl",
                data: Data((lines.joined(separator: "\n") + "\n").utf8),
                contentType: "application/x-ndjson")
        }
        let validation = set.validation.map {
            String(decoding: (try? JSONEncoder.canonical.encode($0)) ?? Data(), as: UTF8.self)
        }
        _ = try await objects.put(
            "\(settings.prefix)\(runId)/validation.jsonl", data: Data((validation.joined(separator: "\n") + "\n").utf8),
            contentType: "application/x-ndjson")
    }

    /// The size of the model file the run logs, when it logs one.
    static func modelBytes(_ result: BackendResult) -> Int? {
        guard let path = result.artifacts["model/model.ipm"],
            let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber
        else { return nil }
        return size.intValue
    }

    private func logArtifacts(
        _ result: BackendResult, run: MLflowClient.Run, directory: String,
        keeping: (String, () async throws -> Void) async throws -> Void
    ) async throws {
        var files = result.artifacts
        if let model = result.model {
            let card = directory + "/model_card.json"
            try RunArtifacts.modelCard(
                model: model, runId: run.info.runId, metrics: result.metrics, modelBytes: Self.modelBytes(result)
            ).write(to: URL(fileURLWithPath: card))
            files["model/model_card.json"] = card
        }
        if let confusion = result.confusion, let classes = result.model?.header.classes {
            let path = directory + "/confusion_matrix.json"
            try RunArtifacts.confusion(confusion, classes: classes).write(to: URL(fileURLWithPath: path))
            files["confusion_matrix.json"] = path
        }
        if !result.history.isEmpty {
            let path = directory + "/training_curve.png"
            let history = result.history
            try await BlockingPools.compute.runIfActive { try RunArtifacts.curvePNG(history, path: path) }
            files["training_curve.png"] = path
        }
        for (artifactPath, path) in files.sorted(by: { $0.key < $1.key }) {
            try await keeping("uploading \(artifactPath)") {
                try await mlflow.logArtifact(run: run, path: path, artifactPath: artifactPath)
            }
        }
    }
}
