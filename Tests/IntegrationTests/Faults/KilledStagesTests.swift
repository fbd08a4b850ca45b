import Foundation
import Learning
import Logging
import PipelineCommon
import TestSupport
import Testing

/// Each stage killed with SIGKILL in the middle of its work, then run again: ingest poll,
/// normalize and infer batch mid-batch (their re-runs take the dead worker's claims over at once and complete,
/// each input exactly once, nothing dead, no output orphaned), and the train launcher mid-epoch
/// (the next launch marks its MLflow run FAILED, saying why, and trains and registers normally).
@Suite(
    "Faults: ingest, train and infer killed with SIGKILL, then run again",
    .enabled(
        if: Services.available("PIPELINE_TEST_S3_ENDPOINT", "PIPELINE_TEST_POSTGRES_URL", "PIPELINE_TEST_MLFLOW_URI"),
        Services.skipReason))
struct KilledStagesTests {
    static let images = 400

    /// Starts `arguments`, kills it with SIGKILL once `progress` reaches `after`, and returns the
    /// progress it was killed at (nil when it finished first).
    static func killMidway(
        _ arguments: [String], environment: [String: String], progress: @escaping () async throws -> Int,
        after: Int
    ) async throws -> Int? {
        let process = Process()
        process.executableURL = Command.buildDirectory.appendingPathComponent(arguments[0])
        process.arguments = Array(arguments.dropFirst())
        process.environment = environment
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        var done = 0
        let deadline = ContinuousClock.now + .seconds(300)
        while process.isRunning, done < after, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
            done = (try? await progress()) ?? done
        }
        guard process.isRunning else { return nil }
        kill(process.processIdentifier, SIGKILL)
        while process.isRunning { try await Task.sleep(for: .milliseconds(20)) }
        return done
    }

    @Test func eachStageKilledMidWorkCompletesOnItsRerunWithNothingLostOrDuplicated() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let bucket = try Services.value("PIPELINE_TEST_S3_BUCKET")
        let run = "killed-\(UUID().uuidString.prefix(8).lowercased())"
        var environment = try Services.pipelineEnvironment(stagingRoot: dir.file("staging"))
        environment["PIPELINE_OBJECT_STORE_URL"] = "s3://\(bucket)/\(run)/"
        environment["PIPELINE_DATASET"] = run
        environment["PIPELINE_NORMALIZE_VARIANTS"] = "train:32x32:pad:png"
        environment["PIPELINE_REGISTERED_MODEL"] = "shapes-\(run)"
        environment["MLFLOW_EXPERIMENT_NAME"] = "tests-\(run)"
        environment["PIPELINE_INGEST_BATCH"] = "4"
        environment["PIPELINE_INGEST_CONCURRENCY"] = "2"
        environment["PIPELINE_INFER_BATCH"] = "4"
        environment["PIPELINE_NORMALIZE_BATCH"] = "4"
        environment["PIPELINE_NORMALIZE_CONCURRENCY"] = "2"
        let (configuration, _, http, objects, manifests) = try await Services.connect(environment, label: "killed")
        let mlflow = MLflowClient(settings: configuration.mlflow, http: http)
        try await SyntheticShapes.upload(
            count: Self.images, seed: 9, size: 48, to: objects, rawPrefix: "raw/",
            annotationsKey: "annotations/ls.json",
            workDirectory: dir.path)
        var raw: Set<String> = []
        for try await object in objects.listAll(prefix: "raw/") { raw.insert(object.key) }
        #expect(raw.count == Self.images)
        var table: [String] = []

        // Ingest poll, killed mid-batch.
        let ingestQueue = "ingest/\(run)"
        let ingestKilledAt = try await Self.killMidway(
            ["pipeline-ingest", "poll", "--once"], environment: environment,
            progress: { try await manifests.queueCounts(queue: ingestQueue)[.completed] ?? 0 }, after: 40)
        let killedIngest = try #require(ingestKilledAt, "ingest finished before it could be killed")
        let heldAtKill = try await manifests.claimHolders(queue: ingestQueue)
        let ingestAgain = try await Command.run("pipeline-ingest", ["poll", "--once"], environment: environment)
        #expect(ingestAgain.status == 0, "\(ingestAgain.stderr.suffix(2000))")
        let ingested = try #require(try await manifests.latestPublished(name: run, stage: "ingest"))
        let items = try await manifests.items(of: ingested.id, after: nil, limit: 10_000)
        let originals = items.filter { raw.contains($0.sourceKey) }
        #expect(Set(originals.map(\.sourceKey)) == raw && originals.count == raw.count, "each raw object once")
        #expect(originals.allSatisfy { $0.status == .ok })
        var curated: Set<String> = []
        for try await object in objects.listAll(prefix: "curated/") { curated.insert(object.key) }
        #expect(curated == Set(items.compactMap { $0.variants["original"]?.key }), "no curated object orphaned")
        let ingestCounts = try await manifests.queueCounts(queue: ingestQueue)
        #expect(ingestCounts[.completed] == Self.images && (ingestCounts[.dead] ?? 0) == 0, "\(ingestCounts)")
        table.append(
            "ingest poll: killed after \(killedIngest) of \(Self.images) objects (its batch still claimed by \(heldAtKill.count) dead worker); re-run completed; \(originals.count) accounted for, 0 duplicated, 0 lost"
        )

        // Normalize, killed mid-batch.
        func normalizeQueue() async throws -> QueueSummary? {
            try await manifests.queueSummaries(queue: nil).first { $0.queue.hasPrefix("normalize/\(ingested.id)/") }
        }
        let normalizeKilledAt = try await Self.killMidway(
            ["pipeline-normalize", "--dataset", ingested.id], environment: environment,
            progress: { try await normalizeQueue()?.counts[.completed] ?? 0 }, after: 40)
        let killedNormalize = try #require(normalizeKilledAt, "normalize finished before it could be killed")
        let normalizeAgain = try await Command.run(
            "pipeline-normalize", ["--dataset", ingested.id], environment: environment)
        #expect(normalizeAgain.status == 0, "\(normalizeAgain.stderr.suffix(2000))")
        let normalized = try #require(try await manifests.latestPublished(name: run, stage: "normalize"))
        let variants = try await manifests.items(of: normalized.id, after: nil, limit: 10_000)
        let normalizedOriginals = variants.filter { raw.contains($0.sourceKey) }
        #expect(Set(normalizedOriginals.map(\.sourceKey)) == raw && normalizedOriginals.count == raw.count)
        var stored: Set<String> = []
        for try await object in objects.listAll(prefix: "variants/") { stored.insert(object.key) }
        #expect(stored == Set(variants.compactMap { $0.variants["train"]?.key }), "no variant orphaned, none missing")
        let normalizeCounts = try #require(try await normalizeQueue()).counts
        #expect(
            normalizeCounts[.completed] == variants.count && (normalizeCounts[.dead] ?? 0) == 0, "\(normalizeCounts)")
        table.append(
            "normalize: killed after \(killedNormalize) of \(variants.count) images; re-run completed; \(normalizedOriginals.count) originals accounted for, 0 duplicated, 0 lost, no variant orphaned"
        )

        // The train launcher, killed mid-epoch.
        var training = environment
        training["PIPELINE_TRAIN_EPOCHS"] = "400"
        training["PIPELINE_TRAIN_PATIENCE"] = "400"
        let experiment = try await mlflow.experiment(named: "tests-\(run)")
        func firstRun() async throws -> MLflowClient.Run? {
            try await mlflow.searchRuns(experimentId: experiment.experimentId).last
        }
        let trainKilledAt = try await Self.killMidway(
            ["pipeline-train", "--dataset", normalized.id], environment: training,
            progress: {
                guard let run = try await firstRun() else { return 0 }
                return try await mlflow.metricHistory(runId: run.info.runId, key: "val_accuracy").count
            }, after: 2)
        #expect(trainKilledAt != nil, "the launcher finished 400 epochs before it could be killed")
        let killedRun = try #require(try await firstRun())
        #expect(
            try await mlflow.run(killedRun.info.runId).info.status == "RUNNING", "a dead launcher's run is left RUNNING"
        )
        training["PIPELINE_TRAIN_EPOCHS"] = "5"
        training["PIPELINE_TRAIN_PATIENCE"] = "5"
        let trainAgain = try await Command.run(
            "pipeline-train", ["--dataset", normalized.id, "--approve-if", "val_accuracy>=0"], environment: training)
        #expect(trainAgain.status == 0, "\(trainAgain.stderr.suffix(2000))")
        let reaped = try await mlflow.run(killedRun.info.runId)
        #expect(reaped.info.status == "FAILED", "the next launch marks the dead launcher's run FAILED")
        let error = reaped.data?.tags?.first { $0.key == "error" }?.value ?? ""
        #expect(error.contains("died before the run ended"), "\(error)")
        let version = try await mlflow.modelVersion(name: "shapes-\(run)", version: "1")
        let registeredRun = try await mlflow.run(try #require(version.runId))
        #expect(registeredRun.info.status == "FINISHED" && registeredRun.info.runId != killedRun.info.runId)
        #expect(try await mlflow.version(name: "shapes-\(run)", alias: "approved")?.version == "1")
        table.append(
            "train: launcher killed at epoch \(trainKilledAt ?? 0); the next launch marked run \(killedRun.info.runId) FAILED (\(error)) and registered version 1"
        )

        // Infer batch, killed mid-batch.
        let inferKilledAt = try await Self.killMidway(
            ["pipeline-infer", "batch", "--dataset", ingested.id], environment: environment,
            progress: {
                try await manifests.queueSummaries(queue: nil).first { $0.queue.hasPrefix("infer/\(ingested.id)") }?
                    .counts[.completed] ?? 0
            }, after: 40)
        let killedInfer = try #require(inferKilledAt, "infer batch finished before it could be killed")
        let inferAgain = try await Command.run(
            "pipeline-infer", ["batch", "--dataset", ingested.id], environment: environment)
        #expect(inferAgain.status == 0, "\(inferAgain.stderr.suffix(2000))")
        let inferred = try #require(try await manifests.versions(name: run, stage: "infer", limit: 10).first)
        let predictions = try await manifests.items(of: inferred.id, after: nil, limit: 10_000)
        #expect(predictions.count == originals.count && Set(predictions.map(\.sourceKey)) == raw, "each image once")
        let inferQueue = try #require(
            try await manifests.queueSummaries(queue: nil).first { $0.queue.hasPrefix("infer/\(ingested.id)") })
        #expect(
            inferQueue.counts[.completed] == originals.count && (inferQueue.counts[.dead] ?? 0) == 0,
            "\(inferQueue.counts)")
        var written: Set<String> = []
        for try await object in objects.listAll(prefix: "predictions/") {
            written.insert(String(object.key.split(separator: "/").dropLast().joined(separator: "/")))
        }
        #expect(written == ["predictions/\(run)/\(inferred.id)"], "outputs of the published version only: \(written)")
        table.append(
            "infer batch: killed after \(killedInfer) of \(originals.count) images; re-run completed; \(predictions.count) predicted, 0 duplicated, 0 lost"
        )
        FileHandle.standardError.write(Data(("killed stages:\n" + table.joined(separator: "\n") + "\n").utf8))
    }
}
