import Foundation
import Learning
import Logging
import PipelineCommon
import TrainStage

/// What one dataset of an experiment gave (`<out>/<dataset>/result.json`, written last: a
/// dataset with one is finished and not run again).
public struct DatasetResult: Sendable, Codable, Equatable {
    public enum Status: String, Sendable, Codable {
        case done
        /// The inspection found a gap; nothing ran.
        case skipped
        case failed
    }

    public struct ModelOutcome: Sendable, Codable, Equatable {
        public let model: String
        public let ok: Bool
        public let reason: String?
        public let seconds: Double
    }

    public let dataset: String
    public let status: Status
    public let reason: String?
    public let inspection: DatasetInspection?
    public let models: [ModelOutcome]
    public let fusion: CombinatorialFusion.Result?
    public let seconds: Double
}

/// `experiment run`: every dataset × model, datasets `parallel` at a time, each inspected first;
/// each model's validation and test scores fused with CFA; MLflow runs as it goes.
public struct ExperimentRunner: Sendable {
    let name: String
    let datasets: [TabularSource]
    let models: [ExperimentModel]
    let outDirectory: String
    let parallel: Int
    let timeout: Duration
    let seed: UInt64
    let mlflow: MLflowClient?
    /// For the pipeline's own dataset versions.
    let pipeline: PipelineContext?
    let logger: Logger

    public init(
        name: String, datasets: [TabularSource], models: [ExperimentModel], outDirectory: String, parallel: Int,
        timeout: Duration, seed: UInt64 = 42, mlflow: MLflowClient?, pipeline: PipelineContext? = nil, logger: Logger
    ) {
        self.pipeline = pipeline
        self.name = name
        self.datasets = datasets
        self.models = models
        self.outDirectory = outDirectory
        self.parallel = parallel
        self.timeout = timeout
        self.seed = seed
        self.mlflow = mlflow
        self.logger = logger
    }

    public struct Summary: Sendable {
        public var results: [DatasetResult]
        /// Finished before: not run again.
        public var reused: [String]
        public var parentRun: String?
    }

    public func run() async throws -> Summary {
        try FileManager.default.createDirectory(atPath: outDirectory, withIntermediateDirectories: true)
        var parent: MLflowClient.Run?
        var experimentId: String?
        if let mlflow {
            let experiment = try await mlflow.experiment(named: "experiments")
            experimentId = experiment.experimentId
            parent = try await mlflow.createRun(
                experimentId: experiment.experimentId, name: name,
                tags: ["experiment": name, "mlflow.source.name": "pipelinectl experiment run"])
        }
        let parentRun = parent
        let experimentIdentifier = experimentId
        let outcomes = try await concurrentMap(count: datasets.count, limit: max(1, parallel)) { index in
            let source = datasets[index]
            let resultPath = outDirectory + "/\(source.name)/result.json"
            if let data = FileManager.default.contents(atPath: resultPath),
                let previous = try? SprintJSON.decoder.decode(DatasetResult.self, from: data)
            {
                return (previous, true)
            }
            let result = await runDataset(source)
            try FileManager.default.createDirectory(
                atPath: outDirectory + "/\(source.name)", withIntermediateDirectories: true)
            if let mlflow, let parentRun, let experimentIdentifier {
                do {
                    try await log(result, to: mlflow, experiment: experimentIdentifier, parent: parentRun)
                } catch {
                    logger.warning(
                        "dataset not logged to MLflow", metadata: ["dataset": "\(source.name)", "error": "\(error)"])
                }
            }
            // A failure (an outage, every model timed out) is tried again on the next run.
            if result.status != .failed {
                try SprintTaskRunner.writeDurably(try SprintJSON.encoder(pretty: true).encode(result), to: resultPath)
            }
            return (result, false)
        }
        if let mlflow, let parentRun {
            let done = outcomes.filter { $0.0.status == .done }
            try await mlflow.logBatch(
                runId: parentRun.info.runId,
                metrics: [
                    .init(key: "datasets", value: Double(outcomes.count)),
                    .init(key: "datasets_done", value: Double(done.count)),
                    .init(
                        key: "fusion_beats_best_single",
                        value: Double(done.filter { $0.0.fusion?.fusionBeatsBestSingle == true }.count)),
                ])
            try await mlflow.setTerminated(runId: parentRun.info.runId, status: .finished)
        }
        return Summary(
            results: outcomes.map(\.0), reused: outcomes.filter(\.1).map(\.0.dataset), parentRun: parentRun?.info.runId)
    }

    /// One dataset: inspect, then every model (a failure recorded, the rest going on), then fuse.
    func runDataset(_ source: TabularSource) async -> DatasetResult {
        let started = ContinuousClock.now
        let deadline = started + timeout
        let directory = outDirectory + "/\(source.name)"
        let result = ResultBuilder(dataset: source.name, started: started)
        if source.isPipelineDataset {
            return await runImages(source, started: started, deadline: deadline)
        }
        let inspection: DatasetInspection
        let prepared: PreparedDataset?
        do {
            let local = try await fetched(source, into: directory + "/data")
            (inspection, prepared) = try await BlockingPools.compute.runIfActive {
                try DatasetInspection.inspect(local, seed: seed)
            }
            try FileManager.default.createDirectory(atPath: directory + "/scores", withIntermediateDirectories: true)
            try SprintTaskRunner.writeDurably(
                try SprintJSON.encoder(pretty: true).encode(inspection), to: directory + "/inspection.json")
        } catch {
            return result(.failed, "\(error)", nil)
        }
        guard let prepared else {
            logger.notice("dataset skipped", metadata: ["dataset": "\(source.name)", "gaps": "\(inspection.gaps)"])
            return result(.skipped, "schema gap: " + inspection.gaps.joined(separator: "; "), inspection)
        }
        var outcomes: [DatasetResult.ModelOutcome] = []
        var tables: [ScoreTable] = []
        for model in models {
            let begin = ContinuousClock.now
            guard ContinuousClock.now < deadline else {
                outcomes.append(
                    .init(model: model.name, ok: false, reason: "timeout: the dataset's \(timeout) ran out", seconds: 0)
                )
                continue
            }
            if case .image = model.source {
                outcomes.append(
                    .init(
                        model: model.name, ok: false, reason: "not applicable: an image model, a tabular dataset",
                        seconds: 0))
                continue
            }
            do {
                let table: ScoreTable
                switch model.source {
                case .image: continue
                case .builtin(let spec):
                    table = try await BlockingPools.compute.runIfActive {
                        Self.scores(of: TabularModel.train(spec, on: prepared), named: model.name, prepared)
                    }
                case .command(let command):
                    table = try await CommandTrainer(command: command, logger: logger).run(
                        model.name, prepared, directory: directory + "/work/\(model.name)", deadline: deadline,
                        seed: seed)
                }
                try SprintTaskRunner.writeDurably(
                    Data(Self.csv(table).utf8), to: directory + "/scores/\(model.name).csv")
                tables.append(table)
                outcomes.append(
                    .init(model: model.name, ok: true, reason: nil, seconds: (ContinuousClock.now - begin).seconds))
            } catch {
                logger.warning(
                    "model failed",
                    metadata: ["dataset": "\(source.name)", "model": "\(model.name)", "error": "\(error)"])
                outcomes.append(
                    .init(
                        model: model.name, ok: false, reason: "\(error)", seconds: (ContinuousClock.now - begin).seconds
                    ))
            }
        }
        return fuse(tables, outcomes, inspection, directory: directory, result: result)
    }

    /// A dataset in the object store (`store:<key>` of a file, or `store:<prefix>/` of a folder of
    /// sibling split files) copied to `directory` first, checked against the store's SHA-256;
    /// a local one as it is.
    func fetched(_ source: TabularSource, into directory: String) async throws -> TabularSource {
        guard source.path.hasPrefix("store:") else { return source }
        guard let objects = pipeline?.objects else {
            throw SprintError(
                "dataset \(source.name) is in the object store: give the pipeline's configuration (--config)")
        }
        let key = String(source.path.dropFirst("store:".count))
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        if key.hasSuffix("/") {
            var found = 0
            for try await object in objects.listAll(prefix: key) {
                let name = String(object.key.dropFirst(key.count))
                guard !name.contains("/"),
                    [".csv", ".jsonl", ".ndjson"].contains(where: { name.lowercased().hasSuffix($0) })
                else { continue }
                _ = try await objects.get(object, to: directory + "/" + name)
                found += 1
            }
            guard found > 0 else {
                throw SprintError("dataset \(source.name): no CSV or JSON lines file under \(key) in the store")
            }
            return TabularSource(name: source.name, path: directory, label: source.label)
        }
        let path = directory + "/" + (key as NSString).lastPathComponent
        _ = try await objects.get(key, to: path)
        return TabularSource(name: source.name, path: path, label: source.label)
    }

    /// A dataset version of the pipeline: its images through the builtin image models; the
    /// tabular ones and command trainers do not apply.
    func runImages(_ source: TabularSource, started: ContinuousClock.Instant, deadline: ContinuousClock.Instant) async
        -> DatasetResult
    {
        let directory = outDirectory + "/\(source.name)"
        let result = ResultBuilder(dataset: source.name, started: started)
        guard let pipeline else {
            return result(.failed, "an image dataset of the pipeline needs its configuration (--config)", nil)
        }
        let images = ImageExperiment(pipeline: pipeline, seed: seed, logger: logger)
        let staging: StagingRun
        do {
            staging = try StagingArea(pipeline.configuration.staging, logger: logger).makeRun(
                stage: "experiment", runId: "\(source.name)-\(UUID().uuidString.prefix(8).lowercased())")
        } catch {
            return result(.failed, "\(error)", nil)
        }
        let outcome = await runImages(
            source, images: images, pipeline: pipeline, staging: staging, directory: directory, result: result,
            deadline: deadline)
        await staging.finish(succeeded: true)
        return outcome
    }

    private func runImages(
        _ source: TabularSource, images: ImageExperiment, pipeline: PipelineContext, staging: StagingRun,
        directory: String, result: ResultBuilder, deadline: ContinuousClock.Instant
    ) async -> DatasetResult {
        let inspection: DatasetInspection
        let split:
            (set: TrainingSet, train: [TrainingSet.Entry], validation: [TrainingSet.Entry], test: [TrainingSet.Entry])?
        do {
            try FileManager.default.createDirectory(atPath: directory + "/scores", withIntermediateDirectories: true)
            (inspection, split) = try await images.inspect(source, workDirectory: staging.outputDirectory)
            try SprintTaskRunner.writeDurably(
                try SprintJSON.encoder(pretty: true).encode(inspection), to: directory + "/inspection.json")
        } catch {
            return result(.failed, "\(error)", nil)
        }
        guard let split else {
            return result(.skipped, "schema gap: " + inspection.gaps.joined(separator: "; "), inspection)
        }
        let examples: (train: [Example], validation: [Example], test: [Example])
        do {
            examples = (
                try await split.set.examples(split.train, run: staging, objects: pipeline.objects),
                try await split.set.examples(split.validation, run: staging, objects: pipeline.objects),
                try await split.set.examples(split.test, run: staging, objects: pipeline.objects)
            )
        } catch {
            return result(.failed, "staging the images: \(error)", inspection)
        }
        var outcomes: [DatasetResult.ModelOutcome] = []
        var tables: [ScoreTable] = []
        for model in models {
            let begin = ContinuousClock.now
            guard case .image(let spec) = model.source else {
                outcomes.append(
                    .init(
                        model: model.name, ok: false, reason: "not applicable: a tabular model, an image dataset",
                        seconds: 0))
                continue
            }
            guard ContinuousClock.now < deadline else {
                outcomes.append(
                    .init(model: model.name, ok: false, reason: "timeout: the dataset's \(timeout) ran out", seconds: 0)
                )
                continue
            }
            do {
                let table = try await images.scores(
                    spec, named: model.name, set: split.set, examples: examples, ids: (split.validation, split.test))
                try SprintTaskRunner.writeDurably(
                    Data(Self.csv(table).utf8), to: directory + "/scores/\(model.name).csv")
                tables.append(table)
                outcomes.append(
                    .init(model: model.name, ok: true, reason: nil, seconds: (ContinuousClock.now - begin).seconds))
            } catch {
                outcomes.append(
                    .init(
                        model: model.name, ok: false, reason: "\(error)", seconds: (ContinuousClock.now - begin).seconds
                    ))
            }
        }
        return fuse(tables, outcomes, inspection, directory: directory, result: result)
    }

    /// A dataset's result, timed from its start.
    struct ResultBuilder {
        let dataset: String
        let started: ContinuousClock.Instant

        func callAsFunction(
            _ status: DatasetResult.Status, _ reason: String?, _ inspection: DatasetInspection?,
            _ models: [DatasetResult.ModelOutcome] = [], _ fusion: CombinatorialFusion.Result? = nil
        ) -> DatasetResult {
            DatasetResult(
                dataset: dataset, status: status, reason: reason, inspection: inspection, models: models,
                fusion: fusion, seconds: (ContinuousClock.now - started).seconds)
        }
    }

    /// The models' scores fused (two at least), the analysis written beside them.
    func fuse(
        _ tables: [ScoreTable], _ outcomes: [DatasetResult.ModelOutcome], _ inspection: DatasetInspection,
        directory: String, result: ResultBuilder
    ) -> DatasetResult {
        guard tables.count >= 2 else {
            return result(.failed, "\(tables.count) model(s) gave scores; fusion needs two", inspection, outcomes)
        }
        do {
            let fusion = try CombinatorialFusion.analyse(tables)
            try SprintTaskRunner.writeDurably(
                try SprintJSON.encoder(pretty: true).encode(fusion), to: directory + "/fusion.json")
            return result(.done, nil, inspection, outcomes, fusion)
        } catch {
            return result(.failed, "fusion: \(error)", inspection, outcomes)
        }
    }

    static func scores(of model: TabularModel, named name: String, _ data: PreparedDataset) -> ScoreTable {
        let rows = [("validation", data.validation), ("test", data.test)].flatMap { split, items in
            items.map {
                ScoreTable.Row(
                    split: split, id: $0.id, label: data.classes[$0.label], scores: model.scores($0.features))
            }
        }
        return ScoreTable(model: name, classes: data.classes, rows: rows)
    }

    /// A scores table as `scores.csv`.
    static func csv(_ table: ScoreTable) -> String {
        let quote = CSV.quote
        var lines = [(["split", "id", "label"] + table.classes).map(quote).joined(separator: ",")]
        for row in table.rows {
            lines.append(
                ([row.split, row.id, row.label].map(quote) + row.scores.map { "\($0)" }).joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// A child run of the experiment's run: each model's and the fusion's figures, the
    /// inspection and result as artifacts.
    func log(_ result: DatasetResult, to mlflow: MLflowClient, experiment: String, parent: MLflowClient.Run)
        async throws
    {
        let run = try await mlflow.createRun(
            experimentId: experiment, name: result.dataset,
            tags: [
                "mlflow.parentRunId": parent.info.runId, "dataset": result.dataset, "status": result.status.rawValue,
            ])
        var metrics: [MLflowClient.Metric] = []
        if let fusion = result.fusion {
            for model in fusion.models {
                metrics.append(.init(key: "\(model.model).validation_accuracy", value: model.validation.accuracy))
                if let test = model.test {
                    metrics.append(.init(key: "\(model.model).test_accuracy", value: test.accuracy))
                }
                if let auroc = model.test?.auroc {
                    metrics.append(.init(key: "\(model.model).test_auroc", value: auroc))
                }
                metrics.append(.init(key: "\(model.model).ds", value: model.diversityStrength))
                metrics.append(.init(key: "\(model.model).ps", value: model.performanceStrength))
            }
            if let test = fusion.bestFusion.test {
                metrics.append(.init(key: "fusion.test_accuracy", value: test.accuracy))
            }
            if let auroc = fusion.bestFusion.test?.auroc {
                metrics.append(.init(key: "fusion.test_auroc", value: auroc))
            }
            metrics.append(.init(key: "fusion_beats_best_single", value: fusion.fusionBeatsBestSingle ? 1 : 0))
        }
        var params: [String: String] = ["status": result.status.rawValue]
        if let inspection = result.inspection {
            params["label"] = inspection.labelColumn ?? "-"
            params["rows"] = "\(inspection.rows)"
            params["split"] = String(inspection.splitSource.prefix(250))
        }
        if let fusion = result.fusion {
            params["best_single"] = fusion.bestSingle.model
            params["best_fusion"] =
                fusion.bestFusion.models.joined(separator: "+") + " " + fusion.bestFusion.method.rawValue
        }
        try await mlflow.logBatch(runId: run.info.runId, metrics: metrics, params: params)
        let directory = outDirectory + "/\(result.dataset)"
        for file in ["inspection.json", "fusion.json"]
        where FileManager.default.fileExists(atPath: directory + "/" + file) {
            try await mlflow.logArtifact(run: run, path: directory + "/" + file, artifactPath: file)
        }
        try await mlflow.setTerminated(runId: run.info.runId, status: result.status == .failed ? .failed : .finished)
    }
}
