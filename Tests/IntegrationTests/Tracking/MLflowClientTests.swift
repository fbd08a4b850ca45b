import Foundation
import Logging
import PipelineCommon
import TestSupport
import StageCommand
import Testing

@Suite(
    "MLflow client against the real MLflow server",
    .enabled(if: Services.available("PIPELINE_TEST_MLFLOW_URI"), Services.skipReason))
struct MLflowClientTests {
    static func client() throws -> MLflowClient {
        let settings = try PipelineConfiguration.load(
            environment: [
                "MLFLOW_TRACKING_URI": try Services.value("PIPELINE_TEST_MLFLOW_URI"), "HOME": NSHomeDirectory(),
            ]
        ).mlflow
        return MLflowClient(settings: settings, http: HTTPClient(logger: Logger(label: "mlflow-test")))
    }

    @Test func experimentsRunsBatchesOverTheLimitsAndStatus() async throws {
        let mlflow = try Self.client()
        let name = "client-\(UUID().uuidString.prefix(8))"
        let experiment = try await mlflow.experiment(named: name)
        #expect(try await mlflow.experiment(named: name) == experiment, "get-by-name finds it the second time")
        let run = try await mlflow.createRun(experimentId: experiment.experimentId, name: "batch", tags: ["k": "v"])
        #expect(run.info.status == "RUNNING")
        // 2 500 metrics, 250 params and 150 tags: more than one call's worth of each.
        let metrics = (0..<2500).map { MLflowClient.Metric(key: "m\($0 % 5)", value: Double($0), step: Int64($0 / 5)) }
        let params = Dictionary(uniqueKeysWithValues: (0..<250).map { ("p\($0)", "value \($0)") })
        let tags = Dictionary(uniqueKeysWithValues: (0..<150).map { ("t\($0)", "tag \($0)") })
        try await mlflow.logBatch(runId: run.info.runId, metrics: metrics, params: params, tags: tags)
        let history = try await mlflow.metricHistory(runId: run.info.runId, key: "m3")
        #expect(history.count == 500)
        #expect(Set(history.map(\.step)) == Set((0..<500).map(Int64.init)))
        let stored = try await mlflow.run(run.info.runId)
        #expect(stored.data?.params?.count == 250)
        #expect((stored.data?.tags ?? []).filter { $0.key.hasPrefix("t") }.count == 150)
        try await mlflow.setTerminated(runId: run.info.runId, status: .finished)
        #expect(try await mlflow.run(run.info.runId).info.status == "FINISHED")
    }

    @Test func artifactsRoundTripByteForByteAndTheRegistryAliasesMove() async throws {
        let mlflow = try Self.client()
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let experiment = try await mlflow.experiment(named: "registry-\(UUID().uuidString.prefix(8))")
        let run = try await mlflow.createRun(experimentId: experiment.experimentId, name: "artifacts")
        let source = dir.file("model.ipm")
        try Data((0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }).write(
            to: URL(fileURLWithPath: source))
        try await mlflow.logArtifact(run: run, path: source, artifactPath: "model/model.ipm")
        let back = dir.file("back.ipm")
        try await mlflow.downloadArtifact(run: run, artifactPath: "model/model.ipm", to: back)
        #expect(FileManager.default.contentsEqual(atPath: source, andPath: back))
        try await mlflow.downloadArtifact(uri: "runs:/\(run.info.runId)/model/model.ipm", to: dir.file("again.ipm"))
        #expect(FileManager.default.contentsEqual(atPath: source, andPath: dir.file("again.ipm")))

        let name = "classifier-\(UUID().uuidString.prefix(8))"
        _ = try await mlflow.registeredModel(named: name)
        _ = try await mlflow.registeredModel(named: name)
        let first = try await mlflow.createModelVersion(
            name: name, source: run.info.artifactUri + "/model", runId: run.info.runId, tags: ["dataset": "d1"])
        let second = try await mlflow.createModelVersion(
            name: name, source: run.info.artifactUri + "/model", runId: run.info.runId, tags: ["dataset": "d2"])
        #expect(first.version == "1" && second.version == "2")
        #expect(first.status == "READY")
        #expect(try await mlflow.searchModelVersions(name: name).map(\.version) == ["2", "1"])
        #expect(try await mlflow.version(name: name, alias: "approved") == nil)
        try await mlflow.setAlias(name: name, alias: "approved", version: "1")
        #expect(try await mlflow.version(name: name, alias: "approved")?.version == "1")
        try await mlflow.setAlias(name: name, alias: "approved", version: "2")
        #expect(try await mlflow.version(name: name, alias: "approved")?.version == "2")
        #expect(try await mlflow.getRegisteredModel(name).aliases?.map(\.alias) == ["approved"])
        try await mlflow.deleteAlias(name: name, alias: "approved")
        #expect(try await mlflow.version(name: name, alias: "approved") == nil)
    }

    @Test func anUnknownModelIsAClearError() async throws {
        let mlflow = try Self.client()
        do {
            _ = try await mlflow.getRegisteredModel("no-such-model-\(UUID().uuidString.prefix(6))")
            Issue.record("an unknown model was found")
        } catch let error as MLflowError {
            #expect(error.code == "RESOURCE_DOES_NOT_EXIST")
            #expect(error.description.contains("no-such-model"))
        }
    }

    @Test(.enabled(if: Services.available("PIPELINE_TEST_S3_ENDPOINT"), Services.skipReason))
    func anS3ArtifactRootIsWrittenThroughTheObjectStore() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let bucket = try Services.value("PIPELINE_TEST_S3_BUCKET")
        var environment = try Services.pipelineEnvironment(stagingRoot: dir.path)
        environment["PIPELINE_OBJECT_STORE_URL"] = "s3://\(bucket)/"
        let configuration = try PipelineConfiguration.load(environment: environment)
        let logger = Logger(label: "mlflow-s3")
        let http = HTTPClient(logger: logger)
        let objects = try ObjectStoreFactory.make(configuration, http: http, logger: logger, environment: environment)
        let mlflow = MLflowClient(settings: configuration.mlflow, http: http, artifactStore: objects)
        let root = "s3://\(bucket)/mlflow-\(UUID().uuidString.prefix(8))"
        let experiment = try await mlflow.experiment(
            named: "s3-root-\(UUID().uuidString.prefix(8))", artifactLocation: root)
        #expect(experiment.artifactLocation == root)
        let run = try await mlflow.createRun(experimentId: experiment.experimentId, name: "s3")
        #expect(run.info.artifactUri.hasPrefix(root))
        let source = try dir.write("card.json", "{\"classes\": [\"a\"]}")
        try await mlflow.logArtifact(run: run, path: source, artifactPath: "model/card.json")
        let key = String(run.info.artifactUri.dropFirst("s3://\(bucket)/".count)) + "/model/card.json"
        #expect(try await objects.head(key).size == 18)
        try await mlflow.downloadArtifact(run: run, artifactPath: "model/card.json", to: dir.file("back.json"))
        #expect(FileManager.default.contentsEqual(atPath: source, andPath: dir.file("back.json")))
    }
}
