import Foundation
import Logging
import PipelineCommon
import TestSupport
import Testing

/// MLflow (a server of this test's own) stopped for 20 s while a run trains, then started again
/// on its kept state: the run goes on, keeps the epochs' metrics it could not log and sends them
/// once MLflow is back, waits for it to log its artifacts and register the model, and ends
/// FINISHED with every epoch's metric exactly once.
@Suite(
    "Faults: MLflow down during training",
    .enabled(
        if: Services.available("PIPELINE_TEST_S3_ENDPOINT", "PIPELINE_TEST_POSTGRES_URL", "PIPELINE_TEST_MLFLOW_URI"),
        Services.skipReason))
struct MLflowOutageTests {
    @Test func aRunWaitsMLflowOutAndLosesNoMetric() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let services = try await OwnServices.start(["mlflow"], in: dir)
        do {
            try await train(dir: dir, services: services)
        } catch {
            await services.down()
            throw error
        }
        await services.down()
    }

    func train(dir: TemporaryDirectory, services: OwnServices) async throws {
        let setup = try await TrainEndToEndTests.shapes(dir, count: 300)
        // Long enough that MLflow goes down, stays down 20 s and comes back mid-training: since
        // the trainer got faster, 120 epochs ended before the outage did in one CI run of two.
        // The whole test took 68 s here alone with 360 epochs and with 480.
        let epochs = 480
        var environment = setup.environment
        environment["MLFLOW_TRACKING_URI"] = try #require(services.settings["PIPELINE_TEST_MLFLOW_URI"])
        environment["PIPELINE_TRAIN_EPOCHS"] = "\(epochs)"
        environment["PIPELINE_TRAIN_PATIENCE"] = "\(epochs)"
        let (configuration, _, http, _, _) = try await Services.connect(environment, label: "mlflow-outage")
        let mlflow = MLflowClient(settings: configuration.mlflow, http: http)

        let err = dir.file("train.err"), out = dir.file("train.out")
        FileManager.default.createFile(atPath: err, contents: nil)
        FileManager.default.createFile(atPath: out, contents: nil)
        let process = Process()
        process.executableURL = Command.buildDirectory.appendingPathComponent("pipeline-train")
        process.arguments = ["--approve-if", "val_accuracy>=0"]
        process.environment = environment
        process.standardOutput = FileHandle(forWritingAtPath: out)
        process.standardError = FileHandle(forWritingAtPath: err)
        try process.run()
        let experiment = try await mlflow.experiment(named: configuration.mlflow.experiment)
        var logged = 0
        var runId: String?
        while process.isRunning, logged < 2 {
            try await Task.sleep(for: .milliseconds(50))
            runId = try await mlflow.searchRuns(experimentId: experiment.experimentId).first?.info.runId
            if let runId { logged = try await mlflow.metricHistory(runId: runId, key: "val_accuracy").count }
        }
        #expect(process.isRunning, "training ended before MLflow could be stopped")
        try await services.stop("mlflow")
        #expect(process.isRunning, "training ended before MLflow was down; make it longer")
        try await Task.sleep(for: .seconds(20))
        #expect(process.isRunning, "the run gave up while MLflow was down")
        try await services.start("mlflow")
        let deadline = ContinuousClock.now + .seconds(300)
        while process.isRunning, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(100)) }
        if process.isRunning { process.terminate() }
        let stderr = (try? String(contentsOfFile: err, encoding: .utf8)) ?? ""
        #expect(process.terminationStatus == 0, "\(stderr.suffix(3000))")
        #expect(stderr.contains("MLflow is unreachable"), "the outage was logged: \(stderr.suffix(2000))")

        let id = try #require(runId)
        let run = try await mlflow.run(id)
        #expect(run.info.status == "FINISHED")
        let history = try await mlflow.metricHistory(runId: id, key: "val_accuracy")
        let said = stderr.split(separator: "\n").filter { $0.contains("MLflow") || $0.contains("HTTP") }
        #expect(
            history.map(\.step).sorted() == Array(1...Int64(epochs)),
            "every epoch once: \(history.map(\.step)); the run said: \(said.joined(separator: "\n"))")
        let version = try await mlflow.modelVersion(name: setup.model, version: "1")
        #expect(version.runId == id)
        #expect(try await mlflow.version(name: setup.model, alias: "approved")?.version == "1")
        FileHandle.standardError.write(
            Data(
                "MLflow outage: down 20 s after epoch \(logged) of \(epochs); the run finished, \(history.count) epoch points (0 lost, 0 duplicated), version 1 registered\n"
                    .utf8))
    }
}
