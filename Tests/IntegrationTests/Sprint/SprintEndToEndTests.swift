import Foundation
import IngestStage
import Learning
import Logging
import NormalizeStage
import Orchestration
import PipelineCommon
import TestSupport
import StageCommand
import Testing
import TrainStage

/// A sprint over a live registry: models trained and registered by the pipeline, one whose
/// artifact is broken, two dataset versions; planned, worked (killed, resumed, forced, shared
/// by two workers) and reported, through `pipelinectl` as a user runs it.
@Suite(
    "pipelinectl sprint against the real MLflow, PostgreSQL and S3 server",
    .enabled(
        if: Services.available("PIPELINE_TEST_S3_ENDPOINT", "PIPELINE_TEST_POSTGRES_URL", "PIPELINE_TEST_MLFLOW_URI"),
        Services.skipReason))
struct SprintEndToEndTests {
    @Test func planWorkResumeShareAndReport() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let run = "sprint-\(UUID().uuidString.prefix(8).lowercased())"
        var environment = try Services.pipelineEnvironment(stagingRoot: dir.path + "/staging")
        environment["PIPELINE_OBJECT_STORE_URL"] = "s3://\(try Services.value("PIPELINE_TEST_S3_BUCKET"))/\(run)/"
        environment["PIPELINE_DATASET"] = run
        environment["PIPELINE_NORMALIZE_VARIANTS"] = "train:32x32:pad:png"
        environment["MLFLOW_EXPERIMENT_NAME"] = "tests-\(run)"
        environment["PIPELINE_TRAIN_EPOCHS"] = "4"
        environment["PIPELINE_INFER_BINARY"] = Command.buildDirectory.appendingPathComponent("pipeline-infer").path
        let (configuration, logger, http, objects, manifests) = try await Services.connect(
            environment, label: "sprint-e2e")
        let mlflow = MLflowClient(settings: configuration.mlflow, http: http, artifactStore: objects)

        // Two dataset versions (ingest and normalize) of labelled shapes.
        try await SyntheticShapes.upload(
            count: 240, seed: 5, size: 40, to: objects, rawPrefix: "raw/", annotationsKey: "annotations/ls.json",
            workDirectory: dir.path)
        let ingested = try #require(
            try await Ingestor(configuration: configuration, objects: objects, manifests: manifests, logger: logger)
                .runOnce().published)
        let normalized = try #require(
            try await Normalizer(
                configuration: configuration, objects: objects, manifests: manifests, resizer: VipsResizer(),
                logger: logger
            ).run(input: ingested).version)

        // Models as pipeline-train registers them, one with an artifact that is not a model,
        // and one no queue takes.
        for (name, kind) in [("\(run)-softmax", "softmax"), ("\(run)-cnn", "cnn"), ("other-\(run)", "softmax")] {
            var trainEnvironment = environment
            trainEnvironment["PIPELINE_REGISTERED_MODEL"] = name
            trainEnvironment["PIPELINE_TRAIN_MODEL"] = kind
            let trainConfiguration = try PipelineConfiguration.load(environment: trainEnvironment)
            _ = try await TrainLauncher(
                configuration: trainConfiguration, objects: objects, manifests: manifests, mlflow: mlflow,
                logger: logger
            ).run(dataset: normalized, approveIf: nil)
        }
        let experiment = try await mlflow.experiment(named: "tests-\(run)")
        let brokenRun = try await mlflow.createRun(experimentId: experiment.experimentId, name: "broken")
        try Data("not a model file".utf8).write(to: URL(fileURLWithPath: dir.file("model.ipm")))
        try await mlflow.logArtifact(run: brokenRun, path: dir.file("model.ipm"), artifactPath: "model/model.ipm")
        _ = try await mlflow.registeredModel(named: "\(run)-broken")
        _ = try await mlflow.createModelVersion(
            name: "\(run)-broken", source: brokenRun.info.artifactUri + "/model", runId: brokenRun.info.runId)

        // The plan, twice: the same task ids; each model in one queue; the others named.
        let sprintFile = dir.file("sprint.yaml")
        try """
        sprint: {id: \(run), window: {hours: 2}}
        catalog:
          trainers: [{name: \(run)-wide, model: cnn, convolutions: "4", epochs: 2}]
        datasets: [\(normalized.id), \(ingested.id)]
        evaluation: {smoke_images: 30, service_concurrency: 2}
        queues:
          - name: small
            models: {name: "\(run)-soft*", max_parameters: 100000}
            tasks: [evaluate, service]
          - name: general
            models: {name: "\(run)-*"}
            tasks: [evaluate]
          - name: candidates
            trainers: "\(run)-*"
            tasks: [train-evaluate]
        """.write(toFile: sprintFile, atomically: true, encoding: .utf8)
        func plan(_ output: String) async throws -> SprintPlan {
            let planned = try await Command.run(
                "pipelinectl", ["sprint", "plan", "--config", sprintFile, "--output-dir", output],
                environment: environment)
            #expect(planned.status == 0, "\(planned.stderr)")
            return try JSONDecoder().decode(
                SprintPlan.self, from: Data(contentsOf: URL(fileURLWithPath: output + "/plan.json")))
        }
        let runs = dir.file("runs/\(run)")
        let first = try await plan(runs)
        let second = try await plan(dir.file("again"))
        #expect(first.queues.flatMap(\.tasks).map(\.id) == second.queues.flatMap(\.tasks).map(\.id))
        let queues = Dictionary(uniqueKeysWithValues: first.queues.map { ($0.name, $0) })
        #expect(queues["small"]?.models == ["\(run)-softmax@1"])
        #expect(queues["general"]?.models == ["\(run)-broken@1", "\(run)-cnn@1"])
        #expect(queues["small"]?.tasks.count == 4 && queues["general"]?.tasks.count == 4)
        let other = try #require(first.unassigned.first { $0.model == "other-\(run)@1" })
        #expect(other.reasons["general"]?.contains("does not match") == true, "\(other.reasons)")
        let badConfig = dir.file("bad.yaml")
        try "sprint: {}\nqueues: []\n".write(toFile: badConfig, atomically: true, encoding: .utf8)
        let refused = try await Command.run(
            "pipelinectl", ["sprint", "plan", "--config", badConfig, "--output-dir", dir.file("bad")],
            environment: environment)
        #expect(refused.status == 2 && refused.stderr.contains("sprint.id: missing"), "\(refused.stderr)")

        let execution = runs + "/execution"
        func work(_ queue: String, _ extra: [String] = []) async throws -> Command.Result {
            try await Command.run(
                "pipelinectl",
                ["sprint", "work", "--queue", runs + "/queues/\(queue).json", "--execution-root", execution] + extra,
                environment: environment, timeout: .seconds(600))
        }
        func ledger(_ queue: String, root: String? = nil) throws -> [LedgerRecord] {
            try SprintLedger(path: (root ?? execution) + "/\(queue)/ledger.jsonl").records()
        }

        // The broken model comes first in `general`: without --continue-on-error the worker
        // records the failure and stops with exit 1; with it, the rest runs.
        let stopped = try await work("general")
        #expect(stopped.status == 1 && stopped.stderr.contains("stopped after a failed task"), "\(stopped.stderr)")
        var records = try ledger("general")
        #expect(records.map(\.event) == [.started, .failed], "\(records)")
        #expect(records.last?.failureClass == .load && records.last?.model == "\(run)-broken@1")
        #expect(records.last?.reason?.isEmpty == false)
        let resumed = try await work("general", ["--continue-on-error"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stdout.contains("ran 3 (2 ok, 1 failed)"), "\(resumed.stdout)")
        records = try ledger("general")
        let okRecords = records.filter { $0.event == .ok }
        #expect(okRecords.count == 2 && okRecords.allSatisfy { $0.model == "\(run)-cnn@1" })
        for record in okRecords {
            let artifact = try #require(record.artifact)
            let metrics = try JSONDecoder().decode(
                SprintTaskRunner.MetricsFile.self,
                from: Data(contentsOf: URL(fileURLWithPath: execution + "/" + artifact)))
            #expect(metrics.metrics == record.metrics?.filter { !$0.key.hasPrefix("recall/") })
            #expect(metrics.metrics["images"] == 30 && (metrics.metrics["accuracy"] ?? -1) >= 0)
            #expect(metrics.metrics["macro_auroc"] != nil && metrics.metrics["latency_p99_ms"] != nil)
        }

        // A trainer trained on the normalize version, registered, then evaluated; on the ingest
        // version (no training variant) a schema failure.
        let trainedThenEvaluated = try await work("candidates", ["--continue-on-error"])
        #expect(trainedThenEvaluated.stdout.contains("ran 2 (1 ok, 1 failed)"), "\(trainedThenEvaluated.stdout)")
        let candidates = SprintLedger.latestCompletions(try ledger("candidates"))
        let trainedRecord = try #require(candidates.values.first { $0.event == .ok })
        #expect(trainedRecord.model == "\(run)-wide@1" && trainedRecord.dataset == normalized.id)
        #expect((trainedRecord.metrics?["train_seconds"] ?? 0) > 0 && trainedRecord.metrics?["accuracy"] != nil)
        let schemaRecord = try #require(candidates.values.first { $0.event == .failed })
        #expect(schemaRecord.failureClass == .schema && schemaRecord.dataset == ingested.id, "\(schemaRecord)")

        // A worker killed in the middle of a task: that task runs again, and no finished one.
        let worker = Process()
        worker.executableURL = Command.buildDirectory.appendingPathComponent("pipelinectl")
        worker.arguments = ["sprint", "work", "--queue", runs + "/queues/small.json", "--execution-root", execution]
        worker.environment = environment
        worker.standardOutput = FileHandle.nullDevice
        worker.standardError = FileHandle.nullDevice
        try worker.run()
        var child: Int32?
        for _ in 0..<1000 where child == nil {
            try await Task.sleep(for: .milliseconds(10))
            child = Self.children(of: worker.processIdentifier).first
        }
        let task = try #require(child, "the worker started no task process")
        kill(task, SIGSTOP)  // caught mid-task: it will never finish
        kill(worker.processIdentifier, SIGKILL)
        kill(task, SIGKILL)
        while worker.isRunning { try await Task.sleep(for: .milliseconds(20)) }
        records = try ledger("small")
        #expect(records.map(\.event) == [.started], "\(records)")
        let killedTask = try #require(records.first?.task)
        let again = try await work("small", ["--continue-on-error"])
        #expect(again.status == 0, "\(again.stderr)")
        records = try ledger("small")
        let started = Dictionary(grouping: records.filter { $0.event == .started }, by: \.task)
        #expect(started[killedTask]?.map(\.attempt) == [1, 2])
        #expect(started.count == 4 && started.filter { $0.key != killedTask }.allSatisfy { $0.value.count == 1 })
        let completions = SprintLedger.latestCompletions(records)
        #expect(
            completions.count == 4 && completions.values.allSatisfy { $0.event == .ok },
            "\(completions.values.map(\.reason))")

        // The service and the batch path give the same predictions for the same model and images.
        let smallTasks = try #require(queues["small"]?.tasks)
        for dataset in [normalized.id, ingested.id] {
            func predictions(_ kind: TaskKind) throws -> [String: ImageOutcome] {
                let id = try #require(smallTasks.first { $0.kind == kind && $0.dataset.id == dataset }?.id)
                let record = try #require(completions[id])
                let lines = try String(
                    contentsOfFile: execution + "/" + (record.directory ?? "") + "/predictions.jsonl", encoding: .utf8)
                let outcomes = try lines.split(separator: "\n").map {
                    try JSONDecoder().decode(ImageOutcome.self, from: Data($0.utf8))
                }
                return Dictionary(uniqueKeysWithValues: outcomes.map { ($0.key, $0) })
            }
            let batch = try predictions(.evaluate)
            let service = try predictions(.service)
            #expect(batch.count == 30 && batch.keys.sorted() == service.keys.sorted())
            for (key, outcome) in batch {
                #expect(outcome.error == nil && service[key]?.predicted == outcome.predicted, "\(key)")
                for (label, score) in outcome.scores ?? [:] {
                    #expect(abs((service[key]?.scores?[label] ?? -1) - score) < 1e-6, "\(key) \(label)")
                }
            }
        }
        let serviceTask = try #require(smallTasks.first { $0.kind == .service })
        let serviceMetrics = try #require(completions[serviceTask.id]?.metrics)
        #expect((serviceMetrics["first_prediction_ms"] ?? 0) > 0 && (serviceMetrics["requests_per_second"] ?? 0) > 0)

        // --force-rerun: a new record beside the old one.
        let before = try ledger("small").count
        let forced = try await work("small", ["--force-rerun", "--max-tasks", "1"])
        #expect(forced.status == 0 && forced.stdout.contains("ran 1 (1 ok"), "\(forced.stdout) \(forced.stderr)")
        records = try ledger("small")
        #expect(records.count == before + 2 && records.suffix(2).allSatisfy { $0.forced == true })

        // Two workers on one queue (a second sprint's): every task run once.
        let pairRoot = dir.file("pair")
        let pairQueue = dir.file("pair-general.json")
        let general = try SprintQueueFile.read(path: runs + "/queues/general.json")
        let renamed = general.tasks.map {
            SprintTask(
                sprint: "\(run)-pair", queue: $0.queue, kind: $0.kind, model: $0.model, dataset: $0.dataset,
                settings: $0.settings, timeoutSeconds: $0.timeoutSeconds)
        }
        try JSONEncoder().encode(
            SprintQueueFile(format: SprintQueueFile.formatName, sprint: "\(run)-pair", queue: "general", tasks: renamed)
        ).write(to: URL(fileURLWithPath: pairQueue))
        let pairArguments = [
            "sprint", "work", "--queue", pairQueue, "--execution-root", pairRoot, "--continue-on-error",
        ]
        let pairEnvironment = environment
        async let one = Command.run(
            "pipelinectl", pairArguments, environment: pairEnvironment, timeout: .seconds(600))
        async let two = Command.run(
            "pipelinectl", pairArguments, environment: pairEnvironment, timeout: .seconds(600))
        let (a, b) = try await (one, two)
        #expect(a.status == 0 && b.status == 0, "\(a.stderr) \(b.stderr)")
        let pairStarted = try ledger("general", root: pairRoot).filter { $0.event == .started }
        #expect(pairStarted.count == 4 && Set(pairStarted.map(\.task)).count == 4, "\(pairStarted.map(\.task))")

        // The report: the leaderboard's numbers are the tasks' own; the load failure classed; a
        // missing artifact flagged; logged to MLflow; looked at in a browser.
        let planted = try #require(okRecords.first)
        try FileManager.default.removeItem(atPath: execution + "/" + (planted.artifact ?? ""))
        let reports = runs + "/reports"
        let reported = try await Command.run(
            "pipelinectl",
            ["sprint", "report", "--execution-root", execution, "--out-dir", reports, "--sprint-id", run],
            environment: environment)
        #expect(reported.status == 0, "\(reported.stderr)")
        print("sprint report: \(reported.stdout)")
        let report = try JSONDecoder().decode(
            SprintReport.self, from: Data(contentsOf: URL(fileURLWithPath: reports + "/report.json")))
        let latest = SprintLedger.latestCompletions(try ledger("general") + ledger("small") + ledger("candidates"))
        for board in report.leaderboards {
            for row in board.rows { #expect(row.metrics == latest[row.task]?.metrics, "\(row.task)") }
        }
        #expect(report.leaderboards.count == 5, "evaluate and service on two datasets, train-evaluate on one")
        #expect(report.failures.map(\.failureClass) == [.load, .schema] && report.failures[0].tasks.count == 2)
        #expect(
            report.flags.contains { $0.task == planted.task && $0.problem.contains("is missing") }, "\(report.flags)")
        #expect(report.neverRun.isEmpty)
        let sprints = try await mlflow.experiment(named: "sprints")
        let logged = try await mlflow.searchRuns(experimentId: sprints.experimentId, filter: "tags.sprint = '\(run)'")
        #expect(logged.count == 1)

        let chromium =
            ProcessInfo.processInfo.environment["PIPELINE_TEST_CHROMIUM"] ?? Services.settings["PIPELINE_TEST_CHROMIUM"]
            ?? ""
        if Services.required || !chromium.isEmpty {
            #expect(!chromium.isEmpty, "chromium is not installed: scripts/services.sh install adds it")
            let shot = dir.file("report.png")
            let browser = try await Command.run(
                chromium,
                [
                    "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=900,1400",
                    "--screenshot=\(shot)", "file://\(reports)/report.html",
                ], environment: ["HOME": dir.path, "PATH": "/usr/bin:/bin"], timeout: .seconds(120))
            #expect(browser.status == 0, "\(browser.stderr)")
            let png = try Data(contentsOf: URL(fileURLWithPath: shot))
            #expect(png.count > 10_000 && png.prefix(4) == Data([0x89, 0x50, 0x4E, 0x47]), "\(png.count) bytes")
            try await Self.expectDrawn(png, dir: dir)
        }
    }

    /// The pids whose parent is `pid` (from /proc).
    static func children(of pid: Int32) -> [Int32] {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        return entries.compactMap { Int32($0) }.filter { candidate in
            guard let stat = try? String(contentsOfFile: "/proc/\(candidate)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { return false }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 1 && Int32(fields[1]) == pid
        }
    }

    /// The screenshot shows the report: dark text and the plots' green on a light page.
    static func expectDrawn(_ png: Data, dir: TemporaryDirectory) async throws {
        let path = dir.file("shot.png")
        try png.write(to: URL(fileURLWithPath: path))
        let pixels = try await VipsResizer().pixels(
            .file(path), variant: try VariantSpec.parseList("look:300x460:fill:png").get()[0])
        var dark = 0
        var green = 0
        for index in stride(from: 0, to: pixels.bytes.count - 2, by: pixels.bands) {
            let (r, g, b) = (Int(pixels.bytes[index]), Int(pixels.bytes[index + 1]), Int(pixels.bytes[index + 2]))
            if r + g + b < 200 { dark += 1 }
            if g > 120 && r < 90 && b < 160 && g - r > 60 { green += 1 }
        }
        #expect(dark > 200 && green > 20, "dark \(dark), green \(green): the report did not render")
    }
}
