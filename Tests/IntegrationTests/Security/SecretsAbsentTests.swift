import Foundation
import Logging
import PipelineCommon
import TestSupport
import Testing

/// Every executable's main paths run with distinctive secrets set (the S3 keys and a session
/// token, the PostgreSQL password, an MLflow token, the webhook token, the Label Studio key), at
/// debug log level; none of them may appear in standard output, standard error (the log lines),
/// `/metrics`, the published manifest files or what MLflow keeps of the run (params, tags,
/// metrics, the model version).
@Suite(
    "Secrets never show: every executable against the real services",
    .enabled(
        if: Services.available(
            "PIPELINE_TEST_S3_ENDPOINT", "PIPELINE_TEST_POSTGRES_URL", "PIPELINE_TEST_MLFLOW_URI",
            "PIPELINE_TEST_LABEL_STUDIO_URL"),
        Services.skipReason))
struct SecretsAbsentTests {
    /// One thing a secret must not show in: what it is and its text.
    struct Output {
        let what: String
        let text: String
    }

    @Test func noSecretShowsInOutputLogsMetricsManifestsOrMLflow() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let bucket = try Services.value("PIPELINE_TEST_S3_BUCKET")
        let run = "secrets-\(UUID().uuidString.prefix(8).lowercased())"
        var environment = try Services.pipelineEnvironment(stagingRoot: dir.path + "/staging")
        environment["PIPELINE_OBJECT_STORE_URL"] = "s3://\(bucket)/\(run)/"
        environment["PIPELINE_DATASET"] = run
        environment["PIPELINE_NORMALIZE_VARIANTS"] = "train:32x32:pad:png"
        environment["PIPELINE_REGISTERED_MODEL"] = "shapes-\(run)"
        environment["MLFLOW_EXPERIMENT_NAME"] = "tests-\(run)"
        environment["PIPELINE_TRAIN_EPOCHS"] = "2"
        environment["PIPELINE_LOG_LEVEL"] = "debug"
        let marker = UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        environment["MLFLOW_TRACKING_TOKEN"] = "mlflowtoken\(marker)"
        environment["PIPELINE_WEBHOOK_TOKEN"] = "webhooktoken\(marker)"
        environment["LABEL_STUDIO_URL"] = try Services.value("PIPELINE_TEST_LABEL_STUDIO_URL")
        environment["LABEL_STUDIO_API_KEY"] = try Services.value("PIPELINE_TEST_LABEL_STUDIO_TOKEN")
        let sessionToken = "sessiontoken\(marker)"
        let postgresPassword = try #require(URLComponents(string: environment["PIPELINE_MANIFEST_URL"]!)?.password)
        let secrets: [(name: String, value: String)] = [
            ("S3 secret key", environment["AWS_SECRET_ACCESS_KEY"]!),
            ("S3 session token", sessionToken),
            ("PostgreSQL password", postgresPassword),
            ("MLflow token", environment["MLFLOW_TRACKING_TOKEN"]!),
            ("webhook token", environment["PIPELINE_WEBHOOK_TOKEN"]!),
            ("Label Studio key", environment["LABEL_STUDIO_API_KEY"]!),
        ]
        for secret in secrets { #expect(secret.value.count >= 16, "\(secret.name) is distinctive") }
        var outputs: [Output] = []
        func record(_ what: String, _ arguments: [String], _ env: [String: String], expectStatus: Int32? = 0)
            async throws -> Command.Result
        {
            let executable = arguments[0]
            let result = try await Command.run(executable, Array(arguments.dropFirst()), environment: env)
            outputs.append(Output(what: "\(what): stdout", text: result.stdout))
            outputs.append(Output(what: "\(what): stderr", text: result.stderr))
            if let expectStatus {
                #expect(result.status == expectStatus, "\(what): \(result.stdout)\n\(result.stderr)")
            }
            return result
        }

        // Configuration and diagnostics, with every service up.
        _ = try await record("config check", ["pipelinectl", "config", "check"], environment)
        _ = try await record("doctor", ["pipelinectl", "doctor"], environment)
        _ = try await record("migrate", ["pipelinectl", "migrate"], environment)
        // The doctor with each service down (a closed port), and with a session token S3 refuses.
        let closed = "http://127.0.0.1:\(try closedPort())"
        var downs: [(String, [String: String])] = [
            ("S3 down", environment.merging(["AWS_ENDPOINT_URL_S3": closed]) { $1 }),
            ("MLflow down", environment.merging(["MLFLOW_TRACKING_URI": closed]) { $1 }),
            ("Label Studio down", environment.merging(["LABEL_STUDIO_URL": closed]) { $1 }),
            ("S3 refusing a session token", environment.merging(["AWS_SESSION_TOKEN": sessionToken]) { $1 }),
        ]
        var postgresDown = URLComponents(string: environment["PIPELINE_MANIFEST_URL"]!)!
        postgresDown.port = try closedPort()
        downs.append(("PostgreSQL down", environment.merging(["PIPELINE_MANIFEST_URL": postgresDown.string!]) { $1 }))
        for (what, env) in downs {
            _ = try await record("doctor, \(what)", ["pipelinectl", "doctor"], env, expectStatus: nil)
        }
        let refused = try await record(
            "objects ls, S3 refusing a session token", ["pipelinectl", "objects", "ls", "store:"],
            environment.merging(["AWS_SESSION_TOKEN": sessionToken]) { $1 }, expectStatus: nil)
        #expect(refused.status != 0, "SeaweedFS refuses a session token with static keys")

        // The loop: data, ingest, normalize, train, batch inference, the operator's listings.
        _ = try await record("demo shapes", ["pipelinectl", "demo", "shapes", "--count", "60"], environment)
        _ = try await record("objects ls", ["pipelinectl", "objects", "ls", "store:raw/"], environment)
        _ = try await record("ingest poll", ["pipeline-ingest", "poll", "--once"], environment)
        _ = try await record("normalize", ["pipeline-normalize"], environment)
        _ = try await record("train", ["pipeline-train", "--approve-if", "val_accuracy>=0"], environment)
        // Batch inference imports its predictions into a Label Studio project (the key at work).
        let http = HTTPClient(configuration: .init(), logger: Logger(label: "secrets-test"))
        var studio = HTTPHeaders()
        studio.add("Content-Type", "application/json")
        studio.add("Authorization", "Token \(environment["LABEL_STUDIO_API_KEY"]!)")
        let project = try await http.execute(
            HTTPRequest(
                method: "POST", url: URL(string: environment["LABEL_STUDIO_URL"]! + "/api/projects")!,
                headers: studio, body: .bytes(Data(#"{"title": "\#(run)"}"#.utf8)), retryPolicy: .never))
        let projectId = try #require(
            (try JSONSerialization.jsonObject(with: project.body) as? [String: Any])?["id"] as? Int)
        _ = try await record(
            "infer batch", ["pipeline-infer", "batch", "--import-to-project", "\(projectId)"], environment)
        _ = try await record("model list", ["pipelinectl", "model", "list"], environment)
        _ = try await record("datasets list", ["pipelinectl", "datasets", "list"], environment)
        _ = try await record("queues list", ["pipelinectl", "queues", "list"], environment)

        // The services, with their metrics: infer serve predicting, ingest serve refusing a
        // wrong token and taking a right one.
        let image = try Data(contentsOf: URL(fileURLWithPath: try TestImages.photo(dir, "probe.png", width: 32, height: 32)))
        try await serve("infer serve", ["pipeline-infer", "serve"], environment, dir: dir, outputs: &outputs) {
            base in
            var headers = HTTPHeaders()
            headers.add("Content-Type", "image/png")
            let predicted = try await http.execute(
                HTTPRequest(
                    method: "POST", url: URL(string: base + "/predict")!, headers: headers, body: .bytes(image),
                    retryPolicy: .never))
            #expect(predicted.status == 200, "\(String(decoding: predicted.body, as: UTF8.self))")
        }
        try await serve("ingest serve", ["pipeline-ingest", "serve"], environment, dir: dir, outputs: &outputs) {
            base in
            let event = #"{"Records":[{"eventName":"s3:ObjectCreated:Put","s3":{"bucket":{"name":"elsewhere"},"object":{"key":"x.jpg","size":1,"eTag":"e"}}}]}"#
            for (token, status) in [("wrong", 401), (environment["PIPELINE_WEBHOOK_TOKEN"]!, 200)] {
                var headers = HTTPHeaders()
                headers.add("Content-Type", "application/json")
                headers.add("Authorization", "Bearer \(token)")
                let response = try await http.execute(
                    HTTPRequest(
                        method: "POST", url: URL(string: base + "/events")!, headers: headers,
                        body: .bytes(Data(event.utf8)), retryPolicy: .never))
                #expect(response.status == status, "\(String(decoding: response.body, as: UTF8.self))")
            }
        }

        // What the run left behind: the manifest files, and MLflow's record of the run.
        let (configuration, _, _, objects, _) = try await Services.connect(environment, label: "secrets-test")
        var manifests = 0
        for try await object in objects.listAll(prefix: "manifests/") {
            let path = dir.file("manifest-\(manifests)")
            _ = try await objects.get(object.key, to: path)
            outputs.append(Output(what: object.key, text: try String(contentsOfFile: path, encoding: .utf8)))
            manifests += 1
        }
        #expect(manifests >= 6, "ingest, normalize and infer each published manifest.json and manifest.jsonl")
        let mlflow = configuration.mlflow.trackingURI
        let reads: [(what: String, path: String)] = [
            ("MLflow experiment", "experiments/get-by-name?experiment_name=tests-\(run)"),
            ("MLflow registered model", "registered-models/get?name=shapes-\(run)"),
            ("MLflow model versions", "model-versions/search?filter=name%3D%27shapes-\(run)%27"),
        ]
        for read in reads {
            let response = try await http.execute(
                HTTPRequest(url: URL(string: "\(mlflow)/api/2.0/mlflow/\(read.path)")!, retryPolicy: .never))
            let text = String(decoding: response.body, as: UTF8.self)
            #expect(response.status == 200, "\(read.what): \(text)")
            outputs.append(Output(what: read.what, text: text))
        }
        let experiment = try #require(
            (try JSONSerialization.jsonObject(with: Data(outputs.last { $0.what == "MLflow experiment" }!.text.utf8))
                as? [String: Any])?["experiment"] as? [String: Any])
        var headers = HTTPHeaders()
        headers.add("Content-Type", "application/json")
        let runs = try await http.execute(
            HTTPRequest(
                method: "POST", url: URL(string: "\(mlflow)/api/2.0/mlflow/runs/search")!, headers: headers,
                body: .bytes(Data(#"{"experiment_ids":["\#(experiment["experiment_id"] as? String ?? "")"]}"#.utf8)),
                retryPolicy: .never))
        let runsText = String(decoding: runs.body, as: UTF8.self)
        #expect(runs.status == 200 && runsText.contains("\"params\""), "the run logged params: \(runsText)")
        outputs.append(Output(what: "MLflow runs (params, tags, metrics)", text: runsText))

        #expect(outputs.count > 50)
        // The outputs are the real thing: each path did its work and logged at debug level.
        func text(_ what: String) -> String { outputs.first { $0.what == what }?.text ?? "" }
        #expect(text("train: stdout").contains("registered shapes-\(run) version 1"), "\(text("train: stdout"))")
        #expect(text("infer batch: stdout").contains("predicted 60 images"), "\(text("infer batch: stdout"))")
        #expect(text("infer batch: stdout").contains("imported"), "\(text("infer batch: stdout"))")
        #expect(text("ingest poll: stderr").contains("\"level\":\"debug\""), "debug log lines were written")
        #expect(text("doctor, PostgreSQL down: stdout").contains("127.0.0.1"), "the doctor names what it checked")
        #expect(text("ingest serve: stderr").contains("missing or wrong token"))
        // A control: the check finds a secret where there is one.
        outputs.append(Output(what: "control", text: "Authorization: Bearer \(environment["MLFLOW_TRACKING_TOKEN"]!)"))
        var leaks: [String] = []
        for output in outputs {
            for secret in secrets {
                let forms = [secret.value, secret.value.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!]
                if forms.contains(where: { output.text.contains($0) }) { leaks.append("\(secret.name) in \(output.what)") }
            }
        }
        #expect(leaks == ["MLflow token in control"], "secrets shown: \(leaks.joined(separator: "; "))")
        let logLines = outputs.filter { $0.what.hasSuffix("stderr") }.map { $0.text.split(separator: "\n").count }
        print("secrets test, infer batch: \(text("infer batch: stdout"))")
        print("secrets test: \(outputs.count) outputs, \(logLines.reduce(0, +)) log lines, \(manifests) manifest files")
    }

    /// Runs a service on a free loopback port, waits for /livez, calls `exercise`, scrapes
    /// /metrics, stops it with SIGTERM and records its output and its metrics.
    func serve(
        _ what: String, _ arguments: [String], _ environment: [String: String], dir: TemporaryDirectory,
        outputs: inout [Output], exercise: (String) async throws -> Void
    ) async throws {
        let port = try closedPort()
        let out = dir.file("\(arguments[0])-out"), err = dir.file("\(arguments[0])-err")
        FileManager.default.createFile(atPath: out, contents: nil)
        FileManager.default.createFile(atPath: err, contents: nil)
        let process = Process()
        process.executableURL = Command.buildDirectory.appendingPathComponent(arguments[0])
        process.arguments = Array(arguments.dropFirst())
        process.environment = environment.merging(["PIPELINE_METRICS_PORT": "\(port)"]) { $1 }
        process.standardOutput = FileHandle(forWritingAtPath: out)
        process.standardError = FileHandle(forWritingAtPath: err)
        try process.run()
        let http = HTTPClient(configuration: .init(), logger: Logger(label: "secrets-test"))
        let base = "http://127.0.0.1:\(port)"
        func get(_ path: String) async -> (Int, String)? {
            guard
                let response = try? await http.execute(
                    HTTPRequest(url: URL(string: base + path)!, retryPolicy: .never))
            else { return nil }
            return (response.status, String(decoding: response.body, as: UTF8.self))
        }
        var ready = false
        for _ in 0..<600 where !ready && process.isRunning {
            try await Task.sleep(for: .milliseconds(50))
            ready = await get("/readyz")?.0 == 200
        }
        #expect(ready, "\(what) did not become ready")
        do {
            try await exercise(base)
            let metrics = await get("/metrics")
            #expect(metrics?.0 == 200 && metrics?.1.contains("# TYPE") == true)
            outputs.append(Output(what: "\(what): /metrics", text: metrics?.1 ?? ""))
        } catch {
            process.terminate()
            throw error
        }
        process.terminate()
        while process.isRunning { try await Task.sleep(for: .milliseconds(20)) }
        outputs.append(Output(what: "\(what): stdout", text: (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""))
        outputs.append(Output(what: "\(what): stderr", text: (try? String(contentsOfFile: err, encoding: .utf8)) ?? ""))
    }
}
