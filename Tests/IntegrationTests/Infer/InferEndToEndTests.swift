import Foundation
import InferStage
import IngestStage
import Learning
import Logging
import NormalizeStage
import PipelineCommon
import Synchronization
import TestSupport
import StageCommand
import Testing
import TrainStage

@Suite(
    "pipeline-infer against the real S3 server, PostgreSQL, MLflow, Label Studio and Prometheus",
    .enabled(
        if: Services.available(
            "PIPELINE_TEST_S3_ENDPOINT", "PIPELINE_TEST_POSTGRES_URL", "PIPELINE_TEST_MLFLOW_URI",
            "PIPELINE_TEST_LABEL_STUDIO_URL"),
        Services.skipReason))
struct InferEndToEndTests {
    @Test func batchOutputsForReviewThenServeSwapsModelsAndRefusesBadRequests() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let bucket = try Services.value("PIPELINE_TEST_S3_BUCKET")
        let run = "infer-\(UUID().uuidString.prefix(8).lowercased())"
        var environment = try Services.pipelineEnvironment(stagingRoot: dir.path + "/staging")
        environment["PIPELINE_OBJECT_STORE_URL"] = "s3://\(bucket)/\(run)/"
        environment["PIPELINE_DATASET"] = run
        environment["PIPELINE_NORMALIZE_VARIANTS"] = "train:32x32:pad:png"
        environment["PIPELINE_REGISTERED_MODEL"] = "shapes-\(run)"
        environment["MLFLOW_EXPERIMENT_NAME"] = "tests-\(run)"
        environment["PIPELINE_TRAIN_EPOCHS"] = "15"
        environment["PIPELINE_INFER_POLL_INTERVAL"] = "0.5"
        let (configuration, logger, http, objects, manifests) = try await Services.connect(
            environment, label: "infer-e2e")
        let mlflow = MLflowClient(settings: configuration.mlflow, http: http)
        let model = "shapes-\(run)"

        // The loop up to an approved model: labelled shapes → ingest → normalize → train.
        try await SyntheticShapes.upload(
            count: 1000, seed: 21, size: 48, to: objects, rawPrefix: "raw/", annotationsKey: "annotations/ls.json",
            workDirectory: dir.path)
        let ingestor = Ingestor(configuration: configuration, objects: objects, manifests: manifests, logger: logger)
        let ingested = try #require(try await ingestor.runOnce().published)
        let normalized = try #require(
            try await Normalizer(
                configuration: configuration, objects: objects, manifests: manifests, resizer: VipsResizer(),
                logger: logger
            ).run(input: ingested).version)

        // Serve starts before any model is approved: alive, not ready.
        let port = try closedPort()
        var serveEnvironment = environment
        serveEnvironment["PIPELINE_METRICS_PORT"] = "\(port)"
        let server = Process()
        server.executableURL = Command.buildDirectory.appendingPathComponent("pipeline-infer")
        server.arguments = ["serve"]
        server.environment = serveEnvironment
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try server.run()
        defer {
            server.terminate()
            server.waitUntilExit()
        }
        let base = "http://127.0.0.1:\(port)"
        func get(_ path: String) async throws -> (Int, String) {
            let response = try await http.execute(HTTPRequest(url: URL(string: base + path)!, retryPolicy: .never))
            return (response.status, String(decoding: response.body, as: UTF8.self))
        }
        func post(_ body: Data, type: String = "image/png") async throws -> (Int, String) {
            var headers = HTTPHeaders()
            headers.add("Content-Type", type)
            let response = try await http.execute(
                HTTPRequest(
                    method: "POST", url: URL(string: base + "/predict")!, headers: headers, body: .bytes(body),
                    retryPolicy: .never))
            return (response.status, String(decoding: response.body, as: UTF8.self))
        }
        var live = false
        for _ in 0..<200 where !live {
            try await Task.sleep(for: .milliseconds(50))
            live = (try? await get("/livez").0) == 200
        }
        #expect(live, "pipeline-infer serve did not start")
        #expect(try await get("/readyz").0 == 503, "not ready without a model")

        let trained = try await TrainLauncher(
            configuration: configuration, objects: objects, manifests: manifests,
            mlflow: MLflowClient(settings: configuration.mlflow, http: http, artifactStore: objects), logger: logger
        ).run(dataset: normalized, approveIf: ApprovalGate.parse("val_accuracy>=0.9"))
        #expect(trained.approval?.passed == true, "\(trained.metrics)")

        // Batch: every ingested original predicted, published, and written for review.
        let batch = try await Command.run(
            "pipeline-infer", ["batch", "--dataset", ingested.id], environment: environment)
        #expect(batch.status == 0, "\(batch.stderr)")
        print("batch inference: \(batch.stdout)")
        let originals = 1000
        #expect(batch.stdout.contains("predicted \(originals) images (0 refused)"), "\(batch.stdout)")
        let inferId = try #require(
            batch.stdout.split(separator: "\n").first { $0.hasPrefix("published ") }?.split(separator: " ").last)
        let inferVersion = try #require(try await manifests.version(String(inferId)))
        #expect(inferVersion.parents == [ingested.id] && inferVersion.stage == "infer")
        var files: [String: String] = [:]
        for name in ["labelstudio_tasks.json", "labeling_config.xml", "coco_images.json", "coco_results.json"] {
            files[name] = dir.file(name)
            _ = try await objects.get("predictions/\(run)/\(inferVersion.id)/\(name)", to: dir.file(name))
        }
        let checker = Services.packageRoot.appendingPathComponent("scripts/peers/check_review_outputs.py").path
        try FileManager.default.createDirectory(atPath: dir.file("judge"), withIntermediateDirectories: true)
        let judged = try await Command.run(
            try Services.value("PIPELINE_TEST_PYTHON"),
            [
                checker, files["labeling_config.xml"]!, files["labelstudio_tasks.json"]!, files["coco_images.json"]!,
                files["coco_results.json"]!, dir.file("judge"),
            ], environment: ["HOME": dir.path, "PATH": "/usr/bin:/bin"])
        #expect(judged.status == 0, "\(judged.stderr)")
        let verdict =
            try JSONSerialization.jsonObject(
                with: Data((judged.stdout.split(separator: "\n").last.map(String.init) ?? "{}").utf8)) as? [String: Any]
        #expect(verdict?["label_studio_images"] as? Int == originals)
        #expect(verdict?["label_studio_choices"] as? Int == originals)
        #expect(verdict?["label_studio_labelled"] as? Int == originals, "the converter read a class for every task")
        #expect(verdict?["coco_images"] as? Int == originals && verdict?["coco_results"] as? Int == originals)
        #expect(verdict?["categories"] as? [String] == SyntheticShapes.classes.sorted())
        // The predictions agree with the labels on most images.
        let items = try await manifests.items(of: inferVersion.id, after: nil, limit: 2000)
        let truth = try await manifests.items(of: ingested.id, after: nil, limit: 4000)
        let labels = Dictionary(uniqueKeysWithValues: truth.map { ($0.sourceKey, $0.annotations) })
        let agree = items.filter { item in
            let predicted = (try? JSONDecoder().decode([ImageAnnotation].self, from: Data(item.annotations.utf8)))?
                .first?.label
            return predicted != nil && (labels[item.sourceKey] ?? "").contains("\"\(predicted!)\"")
        }.count
        #expect(Double(agree) / Double(items.count) >= 0.9)

        // Into a real Label Studio: a project with the shipped labeling config, the tasks
        // imported by --import-to-project and read back with their predictions.
        var review = environment
        review["LABEL_STUDIO_URL"] = try Services.value("PIPELINE_TEST_LABEL_STUDIO_URL")
        review["LABEL_STUDIO_API_KEY"] = try Services.value("PIPELINE_TEST_LABEL_STUDIO_TOKEN")
        let reviewConfiguration = try PipelineConfiguration.load(environment: review)
        let studio = try #require(LabelStudioClient(settings: reviewConfiguration.labelStudio, http: http))
        let project = try await studio.createProject(
            title: "review \(run)",
            labelConfig: try String(contentsOfFile: files["labeling_config.xml"]!, encoding: .utf8))
        let imported = try await Command.run(
            "pipeline-infer", ["batch", "--dataset", ingested.id, "--import-to-project", "\(project)"],
            environment: review)
        #expect(imported.status == 0, "\(imported.stderr)")
        #expect(
            imported.stdout.contains("imported \(originals) tasks into Label Studio project \(project)"),
            "\(imported.stdout)")
        let stored = try JSONSerialization.jsonObject(with: try await studio.tasks(project: project)) as? [String: Any]
        let storedTasks = try #require(stored?["tasks"] as? [[String: Any]])
        #expect(storedTasks.count == originals)
        let withPredictions = storedTasks.filter {
            (($0["predictions"] as? [[String: Any]])?.first?["model_version"] as? String) == "\(model)@1"
        }
        #expect(withPredictions.count == originals)
        // The loop closes: the export, as a reviewer who accepted the predictions would leave it,
        // is an annotation file stage 1 reads and matches to the images' keys.
        let reviewed = storedTasks.map { task -> [String: Any] in
            var task = task
            task["annotations"] = [["result": (task["predictions"] as? [[String: Any]])?.first?["result"] ?? []]]
            return task
        }
        var index = AnnotationIndex()
        try index.add(json: try JSONSerialization.data(withJSONObject: reviewed), from: "annotations/reviewed.json")
        let first = try #require(items.first)
        let predictedFirst = try JSONDecoder().decode([ImageAnnotation].self, from: Data(first.annotations.utf8)).first
        #expect(index.annotations(for: first.sourceKey, rawPrefix: "raw/")?.first?.label == predictedFirst?.label)

        // Serve picks the approved model up, then answers for real images.
        var ready = false
        for _ in 0..<100 where !ready {
            try await Task.sleep(for: .milliseconds(100))
            ready = (try? await get("/readyz").0) == 200
        }
        #expect(ready, "serve did not load the approved model")
        let (shape, label) = SyntheticShapes.image(index: 5000, seed: 99, size: 48)
        try shape.writePNG(dir.file("new.png"))
        let image = try Data(contentsOf: URL(fileURLWithPath: dir.file("new.png")))
        let (status, body) = try await post(image)
        #expect(status == 200, "\(body)")
        let answer = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
        let predictions = answer?["predictions"] as? [[String: Any]]
        #expect(predictions?.count == 3 && answer?["version"] as? String == "1")
        #expect(predictions?.first?["label"] as? String == label, "\(body)")
        let byKey = try await post(Data("{\"key\": \"raw/shape-1.png\"}".utf8), type: "application/json")
        #expect(byKey.0 == 200, "\(byKey.1)")

        // Bad requests: a reason each, counted, and the service stays up.
        let bomb = try Data(contentsOf: URL(fileURLWithPath: try TestImages.bombPNG(dir, "bomb.png")))
        for (body, type, expected) in [
            (Data("not an image".utf8), "image/jpeg", 422), (Data(), "image/png", 400), (bomb, "image/png", 413),
            (Data("{\"key\": \"raw/none.png\"}".utf8), "application/json", 404),
            (Data("{\"nope\": 1}".utf8), "application/json", 400),
        ] {
            let (status, reason) = try await post(body, type: type)
            #expect(status == expected, "\(reason)")
            #expect(reason.contains("\"error\""))
        }

        // Move the alias while requests keep coming: every request succeeds, the version changes.
        let two = try await mlflow.createModelVersion(
            name: model, source: "runs:/\(trained.runId)/model", runId: trained.runId)
        let versions = Mutex<[String]>([])
        let failures = Mutex(0)
        let load = Task {
            for _ in 0..<400 {
                let (status, body) = try await post(image)
                if status != 200 { failures.withLock { $0 += 1 } }
                if let answer = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any],
                    let version = answer["version"] as? String
                {
                    versions.withLock { $0.append(version) }
                }
                if versions.withLock({ $0.last }) == two.version, versions.withLock({ $0.count }) > 20 { break }
            }
        }
        try await Task.sleep(for: .milliseconds(300))
        try await mlflow.setAlias(name: model, alias: "approved", version: two.version)
        try await load.value
        #expect(failures.withLock { $0 } == 0, "no request failed during the swap")
        #expect(versions.withLock { $0.first } == "1" && versions.withLock { $0.last } == two.version)

        // /metrics: Prometheus names, promtool passes, and a real Prometheus scrapes it.
        let (_, metrics) = try await get("/metrics")
        for name in [
            "pipeline_infer_predictions_total", "pipeline_infer_prediction_duration_seconds_bucket",
            "pipeline_infer_model_info", "pipeline_infer_model_reloads_total", "pipeline_infer_errors_total",
            "pipeline_infer_score_bucket",
        ] {
            #expect(metrics.contains(name), "\(name) missing from /metrics")
        }
        #expect(metrics.contains("kind=\"unknown_key\""))
        let lint = try #require(try Promtool.checkMetrics(Data(metrics.utf8)))
        #expect(lint.status == 0, "promtool: \(lint.report)")
        try await Self.scrapeWithPrometheus(target: "127.0.0.1:\(port)", dir: dir)
    }

    /// Starts the Debian Prometheus against the service and asks it for the predictions counter.
    static func scrapeWithPrometheus(target: String, dir: TemporaryDirectory) async throws {
        let prometheus = try #require(
            ["/usr/bin/prometheus", "/usr/local/bin/prometheus"].first(where: FileManager.default.isExecutableFile),
            "prometheus is not installed; scripts/services.sh installs it")
        let port = try closedPort()
        let config = try dir.write(
            "prometheus.yml",
            """
            global:
              scrape_interval: 1s
            scrape_configs:
              - job_name: pipeline-infer
                static_configs:
                  - targets: ["\(target)"]
            """)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: prometheus)
        process.arguments = [
            "--config.file=\(config)", "--storage.tsdb.path=\(dir.file("tsdb"))",
            "--web.listen-address=127.0.0.1:\(port)",
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer {
            process.terminate()
            process.waitUntilExit()
        }
        let http = HTTPClient(logger: Logger(label: "prometheus"))
        var found = false
        for _ in 0..<60 where !found {
            try await Task.sleep(for: .milliseconds(500))
            let url = URL(string: "http://127.0.0.1:\(port)/api/v1/query?query=pipeline_infer_predictions_total")!
            guard let response = try? await http.execute(HTTPRequest(url: url, retryPolicy: .never)),
                response.status == 200,
                let json = try? JSONSerialization.jsonObject(with: response.body) as? [String: Any],
                let data = json["data"] as? [String: Any], let result = data["result"] as? [Any]
            else { continue }
            found = !result.isEmpty
        }
        #expect(found, "Prometheus never returned pipeline_infer_predictions_total")
    }
}
