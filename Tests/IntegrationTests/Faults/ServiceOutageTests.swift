import Foundation
import Logging
import PipelineCommon
import TestSupport
import Testing

/// A service the stages need goes away in the middle of an ingest run, a normalize run and an
/// infer batch run, then comes back: the S3 server stopped for 30 s, PostgreSQL stopped and started again. Each
/// run waits it out (an item that failed for an unreachable store is given back without using
/// up an attempt; the connection pool waits for a database it reached before), or stops with a
/// clear error and its re-run completes. At the end every raw object is in each version exactly
/// once, nothing is dead, and no stored object is orphaned. Each test has its own instance of the
/// service it stops, so no other test sees the outage.
@Suite(
    "Faults: the S3 server or PostgreSQL down in the middle of ingest, normalize and infer batch",
    .enabled(if: Services.available("PIPELINE_TEST_PYTHON", "PIPELINE_TEST_MLFLOW_URI"), Services.skipReason))
struct ServiceOutageTests {
    static let images = 240

    @Test func runsWaitOutAnS3OutageWithNothingLostOrDuplicated() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let services = try await OwnServices.start(["s3"], in: dir)
        do {
            let settings = services.settings
            let environment = Self.environment(
                dir,
                [
                    "PIPELINE_OBJECT_STORE_URL": "s3://\(settings["PIPELINE_TEST_S3_BUCKET"]!)/outage/",
                    "AWS_ENDPOINT_URL_S3": settings["PIPELINE_TEST_S3_ENDPOINT"]!, "AWS_REGION": "us-east-1",
                    "AWS_ACCESS_KEY_ID": settings["PIPELINE_TEST_S3_ACCESS_KEY_ID"]!,
                    "AWS_SECRET_ACCESS_KEY": settings["PIPELINE_TEST_S3_SECRET_ACCESS_KEY"]!,
                    "PIPELINE_MANIFEST_URL": "sqlite://" + dir.file("manifest.db"),
                ])
            try await Self.throughOutages(
                "S3 outage", environment: environment, dir: dir, down: .seconds(30),
                stop: { try await services.stop("s3") }, start: { try await services.start("s3") },
                logged: "goes back to the queue")
        } catch {
            await services.down()
            throw error
        }
        await services.down()
    }

    @Test(.enabled(if: Services.available("PIPELINE_TEST_S3_ENDPOINT"), Services.skipReason))
    func runsWaitOutAPostgreSQLRestartWithNothingLostOrDuplicated() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let services = try await OwnServices.start(["postgres"], in: dir)
        do {
            var environment = try Services.pipelineEnvironment(stagingRoot: dir.file("staging"))
            let prefix = "pg-restart-\(UUID().uuidString.prefix(8).lowercased())"
            environment["PIPELINE_OBJECT_STORE_URL"] =
                "s3://\(try Services.value("PIPELINE_TEST_S3_BUCKET"))/\(prefix)/"
            environment["PIPELINE_MANIFEST_URL"] = try #require(services.settings["PIPELINE_TEST_POSTGRES_URL"])
            try await Self.throughOutages(
                "PostgreSQL restart", environment: Self.environment(dir, environment), dir: dir, down: .seconds(10),
                stop: { try await services.stop("postgres") }, start: { try await services.start("postgres") },
                logged: "PostgreSQL is unreachable; waiting for it")
        } catch {
            await services.down()
            throw error
        }
        await services.down()
    }

    /// The stage settings of both tests over `base`: one object at a time, so that the outage
    /// lands in the middle of each run.
    static func environment(_ dir: TemporaryDirectory, _ base: [String: String]) -> [String: String] {
        let run = "outage-\(UUID().uuidString.prefix(8).lowercased())"
        return base.merging(
            [
                // The model infer uses is trained against the shared MLflow (not the service stopped).
                "MLFLOW_TRACKING_URI": (try? Services.value("PIPELINE_TEST_MLFLOW_URI")) ?? "",
                "MLFLOW_EXPERIMENT_NAME": "tests-\(run)", "PIPELINE_REGISTERED_MODEL": "shapes-\(run)",
                "PIPELINE_TRAIN_EPOCHS": "3", "PIPELINE_INFER_BATCH": "1",
                "HOME": dir.path, "PIPELINE_STAGING_ROOT": dir.file("staging"), "PIPELINE_STAGING_RESERVE_MIB": "16",
                "PIPELINE_LOG_FORMAT": "json", "PIPELINE_DATASET": "outage",
                "PIPELINE_INGEST_BATCH": "1", "PIPELINE_INGEST_CONCURRENCY": "1",
                "PIPELINE_NORMALIZE_BATCH": "1", "PIPELINE_NORMALIZE_CONCURRENCY": "1",
                "PIPELINE_NORMALIZE_VARIANTS": "train:24x24:pad:png",
            ], uniquingKeysWith: { _, new in new })
    }

    /// Uploads the shapes, then runs ingest and normalize, each through one `stop`…`start` of
    /// the service, and checks the accounting of both.
    static func throughOutages(
        _ fault: String, environment: [String: String], dir: TemporaryDirectory, down: Duration,
        stop: @escaping @Sendable () async throws -> Void, start: @escaping @Sendable () async throws -> Void,
        logged: String
    ) async throws {
        let shapes = try await Command.run(
            "pipelinectl", ["demo", "shapes", "--count", "\(images)"], environment: environment)
        #expect(shapes.status == 0, "\(shapes.stderr)")
        let (_, _, _, objects, manifests) = try await Services.connect(environment, label: "outage-test")
        var raw: Set<String> = []
        for try await object in objects.listAll(prefix: "raw/") where !object.key.hasSuffix(".json") {
            raw.insert(object.key)
        }
        #expect(raw.count == images)

        /// Runs `arguments`, stops the service once `progress` reaches `after`, starts it again
        /// `down` later, and returns what the run did (and its re-run, when it stopped).
        func runThroughOutage(
            _ what: String, _ arguments: [String], progress: @escaping () async throws -> Int, after: Int
        ) async throws -> String {
            let out = dir.file("\(what).out"), err = dir.file("\(what).err")
            FileManager.default.createFile(atPath: out, contents: nil)
            FileManager.default.createFile(atPath: err, contents: nil)
            let process = Process()
            process.executableURL = Command.buildDirectory.appendingPathComponent(arguments[0])
            process.arguments = Array(arguments.dropFirst())
            process.environment = environment
            process.standardOutput = FileHandle(forWritingAtPath: out)
            process.standardError = FileHandle(forWritingAtPath: err)
            try process.run()
            var done = 0
            while process.isRunning, done < after {
                try await Task.sleep(for: .milliseconds(20))
                done = (try? await progress()) ?? done
            }
            #expect(process.isRunning, "\(what) finished before the outage; make the run longer")
            try await stop()
            FileHandle.standardError.write(Data("\(fault): \(what) lost the service after \(done)\n".utf8))
            try await Task.sleep(for: down)
            #expect(process.isRunning, "\(what) gave up during the outage")
            try await start()
            let deadline = ContinuousClock.now + .seconds(300)
            while process.isRunning, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(100)) }
            if process.isRunning { process.terminate() }
            let stdout = (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
            let stderr = (try? String(contentsOfFile: err, encoding: .utf8)) ?? ""
            var outcome = "\(what): the service went away after \(done) of \(images); "
            if process.terminationStatus == 0 {
                outcome += "the run waited the outage out and completed"
            } else {
                #expect(
                    stderr.contains("run it again") || stderr.contains("error"), "a clear error: \(stderr.suffix(2000))"
                )
                let again = try await Command.run(arguments[0], Array(arguments.dropFirst()), environment: environment)
                #expect(again.status == 0, "\(what) re-run: \(again.stderr.suffix(2000))")
                outcome += "the run stopped (exit \(process.terminationStatus)) and its re-run completed"
            }
            #expect(stderr.contains(logged), "the outage was logged: \(stderr.suffix(2000)) \(stdout.suffix(500))")
            return outcome
        }

        // Ingest.
        let ingestQueue = "ingest/outage"
        let ingestOutcome = try await runThroughOutage(
            "ingest", ["pipeline-ingest", "poll", "--once"],
            progress: { try await manifests.queueCounts(queue: ingestQueue)[.completed] ?? 0 }, after: 20)
        let ingestCounts = try await manifests.queueCounts(queue: ingestQueue)
        #expect(ingestCounts[.dead] == 0 && ingestCounts[.completed] == images, "\(ingestCounts)")
        let ingested = try #require(try await manifests.latestPublished(name: "outage", stage: "ingest"))
        let items = try await manifests.items(of: ingested.id, after: nil, limit: 10_000)
        #expect(items.count == images && Set(items.map(\.sourceKey)) == raw, "each raw object once")
        #expect(items.allSatisfy { $0.status == .ok }, "\(items.filter { $0.status != .ok }.prefix(3))")
        var curated: Set<String> = []
        for try await object in objects.listAll(prefix: "curated/") { curated.insert(object.key) }
        let referenced = Set(items.compactMap { $0.variants["original"]?.key })
        #expect(curated == referenced, "no curated object orphaned, none missing")

        // Normalize.
        let normalizeOutcome = try await runThroughOutage(
            "normalize", ["pipeline-normalize"],
            progress: {
                let queues = try await manifests.queueSummaries(queue: nil).filter { $0.queue.hasPrefix("normalize/") }
                return queues.first?.counts[.completed] ?? 0
            }, after: 20)
        let normalized = try #require(try await manifests.latestPublished(name: "outage", stage: "normalize"))
        let variants = try await manifests.items(of: normalized.id, after: nil, limit: 10_000)
        #expect(variants.count == images && Set(variants.map(\.sourceKey)) == raw)
        #expect(variants.allSatisfy { $0.variants["train"] != nil })
        let summary = try #require(
            try await manifests.queueSummaries(queue: nil).first { $0.queue.hasPrefix("normalize/") })
        #expect(summary.counts[.dead] == 0 && summary.counts[.completed] == images, "\(summary.counts)")
        var stored: Set<String> = []
        for try await object in objects.listAll(prefix: "variants/") { stored.insert(object.key) }
        let referencedVariants = Set(variants.compactMap { $0.variants["train"]?.key })
        #expect(stored == referencedVariants, "no variant orphaned, none missing")

        // Infer batch, with a model trained while the service is up.
        let trained = try await Command.run(
            "pipeline-train", ["--approve-if", "val_accuracy>=0"], environment: environment)
        #expect(trained.status == 0, "\(trained.stderr.suffix(2000))")
        func inferQueue() async throws -> QueueSummary? {
            try await manifests.queueSummaries(queue: nil).first { $0.queue.hasPrefix("infer/\(ingested.id)/") }
        }
        let inferOutcome = try await runThroughOutage(
            "infer", ["pipeline-infer", "batch", "--dataset", ingested.id],
            progress: { try await inferQueue()?.counts[.completed] ?? 0 }, after: 20)
        let inferred = try #require(try await manifests.versions(name: "outage", stage: "infer", limit: 1).first)
        let predictions = try await manifests.items(of: inferred.id, after: nil, limit: 10_000)
        #expect(predictions.count == images && Set(predictions.map(\.sourceKey)) == raw, "each image once")
        #expect(
            predictions.allSatisfy { $0.status == .ok },
            "none rejected for the outage: \(predictions.filter { $0.status != .ok }.prefix(3))")
        let inferCounts = try #require(try await inferQueue()).counts
        #expect(inferCounts[.dead] == 0 && inferCounts[.completed] == images, "\(inferCounts)")
        FileHandle.standardError.write(
            Data(
                "\(fault): \(ingestOutcome); \(normalizeOutcome); \(inferOutcome); \(images) objects, 0 lost, 0 duplicated, 0 dead\n"
                    .utf8))
    }
}
