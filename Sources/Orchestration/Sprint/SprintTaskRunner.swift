import Foundation
import InferStage
import Logging
import PipelineCommon
import TrainStage

/// Runs one task in its own process (`pipelinectl sprint run-task`), which the worker watches:
/// a model that crashes takes its task down, not the worker. Writes into the attempt's
/// directory `predictions.jsonl`, then `metrics.json` (the artifact, synced), or, for a failure
/// it can name, `failure.json` and exit status 3.
public struct SprintTaskRunner: Sendable {
    public static let classifiedFailureStatus: Int32 = 3
    public static let metricsFile = "metrics.json"
    public static let failureFile = "failure.json"

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

    /// A failure the report can class.
    public struct Failure: Error, Sendable, Codable, CustomStringConvertible {
        public let failureClass: LedgerRecord.FailureClass
        public let reason: String
        public var description: String { "\(failureClass.rawValue): \(reason)" }
    }

    /// The metrics file of a finished task.
    public struct MetricsFile: Sendable, Codable, Equatable {
        public let task: String
        public let kind: TaskKind
        public let model: String
        public let dataset: String
        public let metrics: [String: Double]
        public let recall: [String: Double]
        public let predictions: String
    }

    /// Runs `task`, writing into `directory`; the process's exit status.
    public func run(_ task: SprintTask, directory: String) async -> Int32 {
        do {
            let file = try await execute(task, directory: directory)
            print(
                "task \(task.id) ok: \(file.metrics.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))"
            )
            return 0
        } catch let failure as Failure {
            FileHandle.standardError.write(Data("task \(task.id) failed: \(failure)\n".utf8))
            try? Self.writeDurably(try SprintJSON.encoder().encode(failure), to: directory + "/" + Self.failureFile)
            return Self.classifiedFailureStatus
        } catch {
            FileHandle.standardError.write(Data("task \(task.id) failed: \(error)\n".utf8))
            return 1
        }
    }

    func execute(_ task: SprintTask, directory: String) async throws -> MetricsFile {
        let staging = StagingArea(configuration.staging, logger: logger)
        var trained: [String: Double] = [:]
        var version = task.model.version
        if task.kind == .trainEvaluate {
            (version, trained) = try await train(task)
        }
        let model: LoadedModel
        do {
            let registered = try await mlflow.modelVersion(name: task.model.name, version: version)
            model = try await ModelSource(mlflow: mlflow, staging: staging, name: task.model.name).load(registered)
        } catch {
            throw Failure(failureClass: .load, reason: "\(task.model.name)@\(version): \(error)")
        }
        let images = try await HeldOutSplit.images(
            of: task.dataset.id, fraction: task.settings.validationFraction, seed: task.settings.seed,
            limit: task.settings.images, manifests: manifests)
        guard !images.isEmpty else {
            throw Failure(
                failureClass: .schema,
                reason:
                    "\(task.dataset.id) has no labelled image in its held-out split (fraction \(task.settings.validationFraction), seed \(task.settings.seed))"
            )
        }
        let classes = Set(model.predictor.model.header.classes)
        let labels = Set(images.map(\.label))
        guard !classes.isDisjoint(with: labels) else {
            throw Failure(
                failureClass: .schema,
                reason:
                    "the model's classes (\(classes.sorted().joined(separator: ", "))) and the dataset's labels (\(labels.sorted().joined(separator: ", "))) have none in common"
            )
        }
        print(
            "task \(task.id): \(task.kind.rawValue) \(model.name)@\(model.version) on \(images.count) images of \(task.dataset.id)"
        )
        let (outcomes, seconds): ([ImageOutcome], Double)
        var extra: [String: Double] = [:]
        switch task.kind {
        case .evaluate, .trainEvaluate:
            (outcomes, seconds) = try await evaluate(images, model: model, staging: staging, task: task)
        case .service:
            (outcomes, seconds, extra) = try await ServiceProbe(
                configuration: configuration, objects: objects, logger: logger
            ).run(images, task: task, directory: directory)
        }
        guard outcomes.contains(where: { $0.error == nil }) else {
            throw Failure(
                failureClass: .crash,
                reason:
                    "no image of \(outcomes.count) was predicted; the first error: \(outcomes.first?.error ?? "none")")
        }
        var (metrics, recall) = EvaluationHarness.figures(outcomes, seconds: seconds)
        metrics.merge(extra) { _, new in new }
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        metrics["peak_rss_mib"] = Double(usage.ru_maxrss) / 1024
        metrics["parameters"] = Double(model.predictor.model.header.parameterCount)
        metrics.merge(trained) { _, new in new }
        let encoder = SprintJSON.encoder()
        var lines = Data()
        for outcome in outcomes {
            lines.append(try encoder.encode(outcome))
            lines.append(0x0A)
        }
        try Self.writeDurably(lines, to: directory + "/predictions.jsonl")
        let file = MetricsFile(
            task: task.id, kind: task.kind, model: "\(model.name)@\(model.version)", dataset: task.dataset.id,
            metrics: metrics, recall: recall, predictions: "predictions.jsonl")
        try Self.writeDurably(try SprintJSON.encoder(pretty: true).encode(file), to: directory + "/" + Self.metricsFile)
        return file
    }

    /// Trains the task's trainer on its dataset through the launcher, with the sprint's split
    /// (so the images it evaluates on were held out of training), and registers the model;
    /// the new version and the training's figures.
    func train(_ task: SprintTask) async throws -> (String, [String: Double]) {
        guard let trainer = task.trainer else {
            throw Failure(failureClass: .schema, reason: "a train-evaluate task without a trainer")
        }
        guard let dataset = try await manifests.version(task.dataset.id), dataset.stage == "normalize" else {
            throw Failure(
                failureClass: .schema,
                reason:
                    "train-evaluate trains on a normalize version (its training variant); \(task.dataset.id) is made by \(task.dataset.stage)"
            )
        }
        var settings = configuration
        settings.train.registeredModel = trainer.name
        settings.train.backend = trainer.backend == "command" ? .command : .builtin
        if let model = trainer.model { settings.train.model = model }
        if let epochs = trainer.epochs { settings.train.epochs = epochs }
        if let command = trainer.command { settings.train.command = command }
        if let convolutions = trainer.convolutions {
            settings.train.convolutions = convolutions.split(separator: ",").compactMap {
                Int($0.trimmingCharacters(in: .whitespaces))
            }
        }
        settings.train.validationFraction = task.settings.validationFraction
        settings.train.seed = task.settings.seed
        print("task \(task.id): training \(trainer.name) (\(trainer.backend)) on \(dataset.id)")
        do {
            let outcome = try await TrainLauncher(
                configuration: settings, objects: objects, manifests: manifests, mlflow: mlflow, logger: logger
            ).run(dataset: dataset, approveIf: nil)
            guard let version = outcome.modelVersion else {
                throw Failure(failureClass: .crash, reason: "training \(trainer.name) registered no model version")
            }
            var figures = ["train_seconds": outcome.seconds, "train_images": Double(outcome.images)]
            if let accuracy = outcome.metrics["val_accuracy"] { figures["train_val_accuracy"] = accuracy }
            return (version.version, figures)
        } catch let failure as Failure {
            throw failure
        } catch {
            throw Failure(failureClass: .crash, reason: "training \(trainer.name) failed: \(error)")
        }
    }

    /// The batch stage's own path: staged against the SHA-256 ingest recorded, then
    /// ``Inference/predict(_:model:topK:phases:validated:)`` with every class's score.
    func evaluate(_ images: [LabelledImage], model: LoadedModel, staging: StagingArea, task: SprintTask)
        async throws -> ([ImageOutcome], Double)
    {
        try await staging.withRun(stage: "sprint", runId: "\(task.id)-\(UUID().uuidString.prefix(8).lowercased())") {
            run in
            let inference = Inference(pixelLimit: configuration.infer.maxPixels)
            let objects = self.objects
            let classes = model.predictor.model.header.classes.count
            return try await EvaluationHarness.run(images, concurrency: ProcessInfo.processInfo.activeProcessorCount) {
                image in
                let staged = try await run.stageImage(
                    image.object, from: objects, size: image.size, expectedSHA256: image.sha256.isEmpty ? nil : image.sha256
                )
                defer { staged.discard() }
                var phases = PhaseTimes(stage: "sprint")
                let (predictions, _) = try await inference.predict(
                    staged.input, model: model, topK: classes, phases: &phases, validated: !image.sha256.isEmpty)
                return Dictionary(predictions.map { ($0.label, $0.score) }, uniquingKeysWith: { a, _ in a })
            }
        }
    }

    /// Writes through a temporary file, syncs, renames: the file is whole or absent.
    static func writeDurably(_ data: Data, to path: String) throws {
        let temporary = path + ".partial"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw SprintError("cannot write \(temporary): \(String(cString: strerror(errno)))") }
        let written = data.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd) == 0
        close(fd)
        guard written == data.count, synced, rename(temporary, path) == 0 else {
            unlink(temporary)
            throw SprintError("cannot write \(path): \(String(cString: strerror(errno)))")
        }
        try syncDirectory(of: path)
    }

    /// Syncs the directory holding `path`, so a new or renamed name survives a power cut.
    static func syncDirectory(of path: String) throws {
        let directory = open((path as NSString).deletingLastPathComponent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard directory >= 0 else {
            throw SprintError("cannot open the folder of \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(directory) }
        guard fsync(directory) == 0 else {
            throw SprintError("cannot sync the folder of \(path): \(String(cString: strerror(errno)))")
        }
    }

}
