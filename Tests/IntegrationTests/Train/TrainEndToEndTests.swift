import Foundation
import IngestStage
import Learning
import Logging
import NormalizeStage
import PipelineCommon
import TestSupport
import Testing

@Suite(
    "pipeline-train against the real S3 server, PostgreSQL and MLflow",
    .enabled(
        if: Services.available("PIPELINE_TEST_S3_ENDPOINT", "PIPELINE_TEST_POSTGRES_URL", "PIPELINE_TEST_MLFLOW_URI"),
        Services.skipReason),
    .serialized)
struct TrainEndToEndTests {
    struct Setup {
        let environment: [String: String]
        let normalized: DatasetVersion
        let mlflow: MLflowClient
        let model: String
    }

    /// Labelled shapes (a Label Studio export), ingested and normalized into a fresh prefix.
    static func shapes(_ dir: TemporaryDirectory, count: Int) async throws -> Setup {
        let bucket = try Services.value("PIPELINE_TEST_S3_BUCKET")
        let run = "train-\(UUID().uuidString.prefix(8).lowercased())"
        var environment = try Services.pipelineEnvironment(stagingRoot: dir.path + "/staging")
        environment["PIPELINE_OBJECT_STORE_URL"] = "s3://\(bucket)/\(run)/"
        environment["PIPELINE_DATASET"] = run
        environment["PIPELINE_NORMALIZE_VARIANTS"] = "train:32x32:pad:png"
        environment["PIPELINE_REGISTERED_MODEL"] = "shapes-\(run)"
        environment["MLFLOW_EXPERIMENT_NAME"] = "tests-\(run)"
        environment["PIPELINE_TRAIN_EPOCHS"] = "20"
        let (configuration, logger, http, objects, manifests) = try await Services.connect(
            environment, label: "train-e2e")
        try await SyntheticShapes.upload(
            count: count, seed: 5, size: 48, to: objects, rawPrefix: "raw/", annotationsKey: "annotations/ls.json",
            workDirectory: dir.path)
        let ingestor = Ingestor(configuration: configuration, objects: objects, manifests: manifests, logger: logger)
        let ingested = try #require(try await ingestor.runOnce().published)
        let normalizer = Normalizer(
            configuration: configuration, objects: objects, manifests: manifests, resizer: VipsResizer(), logger: logger
        )
        let normalized = try #require(try await normalizer.run(input: ingested).version)
        return Setup(
            environment: environment, normalized: normalized,
            mlflow: MLflowClient(settings: configuration.mlflow, http: http), model: "shapes-\(run)")
    }

    @Test func theBuiltinModelLearnsShapesIsRegisteredAndTheGateMovesTheAliasOnlyWhenItPasses() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let setup = try await Self.shapes(dir, count: 1500)
        let first = try await Command.run(
            "pipeline-train", ["--approve-if", "val_accuracy>=0.9"], environment: setup.environment)
        #expect(first.status == 0, "\(first.stderr)")
        print("builtin training: \(first.stdout)")
        #expect(first.stdout.contains("registered \(setup.model) version 1"), "\(first.stdout)")
        #expect(first.stdout.contains("approved: val_accuracy"), "\(first.stdout)")
        #expect(try await setup.mlflow.version(name: setup.model, alias: "approved")?.version == "1")
        let version = try await setup.mlflow.modelVersion(name: setup.model, version: "1")
        #expect(version.tags?.first { $0.key == "dataset_version" }?.value == setup.normalized.id)
        let runId = try #require(version.runId)
        let run = try await setup.mlflow.run(runId)
        #expect(run.info.status == "FINISHED")
        let validation = try await setup.mlflow.metricHistory(runId: runId, key: "val_accuracy")
        #expect(validation.count >= 3 && (validation.map(\.value).max() ?? 0) >= 0.9)
        #expect(run.data?.params?.contains { $0.key == "dataset_version" && $0.value == setup.normalized.id } == true)
        #expect(run.data?.params?.contains { $0.key == "train.epochs" } == true, "the whole configuration is logged")
        // The model file comes back from MLflow and loads.
        let model = dir.file("model.ipm")
        try await setup.mlflow.downloadArtifact(run: run, artifactPath: "model/model.ipm", to: model)
        let loaded = try ModelFile.read(from: model)
        #expect(loaded.header.classes == SyntheticShapes.classes.sorted())
        #expect(loaded.header.datasetVersion == setup.normalized.id)
        for artifact in ["model/model_card.json", "confusion_matrix.json", "training_curve.png"] {
            try await setup.mlflow.downloadArtifact(run: run, artifactPath: artifact, to: dir.file("a"))
            #expect(((try? FileManager.default.attributesOfItem(atPath: dir.file("a"))[.size] as? Int) ?? 0) > 0)
        }

        // A gate that cannot pass registers the version but leaves the alias where it was.
        let second = try await Command.run(
            "pipeline-train", ["--approve-if", "val_accuracy>1.5", "--dataset", setup.normalized.id],
            environment: setup.environment)
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.stdout.contains("registered \(setup.model) version 2"))
        #expect(second.stdout.contains("not approved"))
        #expect(try await setup.mlflow.version(name: setup.model, alias: "approved")?.version == "1")

        // pipelinectl approves by hand.
        let approve = try await Command.run(
            "pipelinectl", ["model", "approve", setup.model, "2"], environment: setup.environment)
        #expect(approve.status == 0, "\(approve.stderr)")
        #expect(try await setup.mlflow.version(name: setup.model, alias: "approved")?.version == "2")
        let list = try await Command.run("pipelinectl", ["model", "show", setup.model], environment: setup.environment)
        #expect(list.stdout.contains("version 2 [approved]"), "\(list.stdout)")

        // Two local nodes averaging after each epoch learn a model of similar accuracy.
        var twoNodes = setup.environment
        twoNodes["PIPELINE_TRAIN_NODES"] = "2"
        let multi = try await Command.run("pipeline-train", ["--dataset", setup.normalized.id], environment: twoNodes)
        #expect(multi.status == 0, "\(multi.stderr)")
        print("two nodes: \(multi.stdout)")
        let accuracy = multi.stdout.split(separator: " ").first { $0.hasPrefix("val_accuracy=") }
            .flatMap { Double($0.dropFirst("val_accuracy=".count)) }
        #expect((accuracy ?? 0) >= 0.85, "\(multi.stdout)")

        // The kubernetes backend's coordinator and two pods (run here as local processes, as
        // --local-pods does) exchanging parameters through the object store each epoch.
        var pods = twoNodes
        pods["PIPELINE_TRAIN_BACKEND"] = "kubernetes"
        let kubernetes = try await Command.run(
            "pipeline-train", ["--dataset", setup.normalized.id, "--local-pods"], environment: pods)
        #expect(kubernetes.status == 0, "\(kubernetes.stderr)")
        print("kubernetes backend, two local pods: \(kubernetes.stdout)")
        let podAccuracy = kubernetes.stdout.split(separator: " ").first { $0.hasPrefix("val_accuracy=") }
            .flatMap { Double($0.dropFirst("val_accuracy=".count)) }
        #expect((podAccuracy ?? 0) >= 0.85, "\(kubernetes.stdout)")
    }

    /// A pod that dies fails the run as soon as the launcher sees it, naming the pod, instead
    /// of when the epoch's one-hour timeout runs out.
    @Test func aKilledPodFailsTheKubernetesRunAtOnceNamingIt() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let setup = try await Self.shapes(dir, count: 120)
        var pods = setup.environment
        pods["PIPELINE_TRAIN_BACKEND"] = "kubernetes"
        pods["PIPELINE_TRAIN_NODES"] = "2"
        pods["PIPELINE_TRAIN_EPOCHS"] = "500"
        let staging = try #require(pods["PIPELINE_STAGING_ROOT"])
        let launcher = Task {
            try await Command.run(
                "pipeline-train", ["--dataset", setup.normalized.id, "--local-pods"], environment: pods)
        }
        // This run's processes: pipeline-train whose staging root is this test's (shards or all).
        func processes(shardsOnly: Bool) -> [Int32] {
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
            return entries.compactMap(Int32.init).filter { pid in
                guard let command = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline"),
                    let environment = FileManager.default.contents(atPath: "/proc/\(pid)/environ")
                else { return false }
                let arguments = command.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
                let variables = environment.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
                return arguments.first?.hasSuffix("pipeline-train") == true
                    && (!shardsOnly || arguments.contains("shard"))
                    && variables.contains("PIPELINE_STAGING_ROOT=\(staging)")
            }
        }
        func shards() -> [Int32] { processes(shardsOnly: true) }
        var victim: Int32?
        for _ in 0..<600 where victim == nil {
            try await Task.sleep(for: .milliseconds(100))
            let found = shards()
            if found.count == 2 {
                try await Task.sleep(for: .seconds(1))
                victim = found.min()
            }
        }
        let pid = try #require(victim, "the two local pods never started")
        kill(pid, SIGKILL)
        let killedAt = ContinuousClock.now
        // Not a speed check: without the health check the launcher would wait out the epoch's hour.
        let watchdog = Task {
            try await Task.sleep(for: .seconds(120))
            for process in processes(shardsOnly: false) { kill(process, SIGKILL) }
        }
        let result = try await launcher.value
        watchdog.cancel()
        #expect(ContinuousClock.now - killedAt < .seconds(120), "the launcher did not notice the dead pod")
        #expect(result.status == 1, "\(result.stdout)")
        #expect(
            result.stderr.contains("local pod shard-") && result.stderr.contains("was killed by signal 9"),
            "\(result.stderr)")
        for shard in shards() { kill(shard, SIGKILL) }
    }

    @Test func theCommandBackendStreamsMetricsAndAFailingTrainerFailsTheRun() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let setup = try await Self.shapes(dir, count: 120)
        let trainer = Services.packageRoot.appendingPathComponent("examples/trainers/majority_class.py").path
        var environment = setup.environment
        environment["PIPELINE_TRAIN_BACKEND"] = "command"
        environment["PIPELINE_TRAIN_EPOCHS"] = "3"
        environment["PIPELINE_TRAIN_COMMAND"] = "python3 \(trainer)"
        environment["PATH"] = "/usr/local/bin:/usr/bin:/bin"
        let good = try await Command.run("pipeline-train", [], environment: environment)
        #expect(good.status == 0, "\(good.stderr)")
        let version = try await setup.mlflow.modelVersion(name: setup.model, version: "1")
        let history = try await setup.mlflow.metricHistory(runId: try #require(version.runId), key: "val_accuracy")
        #expect(history.map(\.step) == [1, 2, 3], "one point per epoch, as the trainer printed them")
        // Logged while the trainer ran: the points are 0.2 s apart, as the trainer slept.
        #expect((history.last?.timestamp ?? 0) - (history.first?.timestamp ?? 0) >= 300)
        let run = try await setup.mlflow.run(try #require(version.runId))
        try await setup.mlflow.downloadArtifact(run: run, artifactPath: "model/model.json", to: dir.file("m.json"))

        environment["PIPELINE_TRAIN_COMMAND"] = "python3 \(trainer) --fail-at-epoch 2"
        let bad = try await Command.run("pipeline-train", [], environment: environment)
        #expect(bad.status == 1)
        #expect(
            bad.stderr.contains("exited with status 3") && bad.stderr.contains("failing on purpose"), "\(bad.stderr)")
        let experiment = try #require(
            try await setup.mlflow.experimentIfExists(named: environment["MLFLOW_EXPERIMENT_NAME"]!))
        let runs = try await setup.mlflow.searchRuns(experimentId: experiment.experimentId)
        #expect(runs.filter { $0.info.status == "FAILED" }.count == 1, "the failing trainer's run is marked FAILED")
        #expect(runs.filter { $0.info.status == "FINISHED" }.count == 1)
        #expect(
            try await setup.mlflow.searchModelVersions(name: setup.model).count == 1, "a failed run registers nothing")
    }

    @Test(arguments: [1, 4])
    func theKubernetesJobValidatesAgainstTheSchema(nodes: Int) async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let environment = [
            "HOME": dir.path, "PIPELINE_DATA_DIR": dir.path, "PIPELINE_TRAIN_BACKEND": "kubernetes",
            "PIPELINE_TRAIN_NODES": "\(nodes)",
        ]
        let rendered = try await Command.run("pipeline-train", ["--dry-run"], environment: environment)
        #expect(rendered.status == 0, "\(rendered.stderr)")
        #expect(rendered.stdout.contains("completionMode: Indexed"))
        #expect(rendered.stdout.contains("completions: \(nodes)"))
        let manifest = try dir.write("job.yaml", rendered.stdout)
        let validator = URL(fileURLWithPath: try Services.value("PIPELINE_TEST_PYTHON")).deletingLastPathComponent()
            .appendingPathComponent("kubernetes-validate").path
        let result = try await Command.run(
            validator, ["--strict", "--kubernetes-version", "1.33", manifest], environment: ["HOME": dir.path])
        #expect(result.status == 0, "kubernetes-validate: \(result.stdout)\(result.stderr)")
    }
}
