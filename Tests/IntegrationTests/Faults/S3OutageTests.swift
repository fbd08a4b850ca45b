import Foundation
import Logging
import PipelineCommon
import TestSupport
import Testing

/// The S3 server (a SeaweedFS of this test's own, so no other test sees the outage) stopped for
/// 30 s in the middle of an ingest run and of a normalize run, then started again on its kept
/// data. Each run waits the outage out (an item that failed for an unreachable store is given back
/// without using up an attempt), or stops with a clear error and its re-run completes; at the end
/// every raw object is in the version exactly once, nothing is dead, and no stored object is
/// orphaned.
@Suite(
    "Faults: the S3 server down for 30 s in the middle of ingest and of normalize",
    .enabled(if: Services.available("PIPELINE_TEST_PYTHON"), Services.skipReason))
struct S3OutageTests {
    static let images = 240

    @Test func runsWaitOutAnS3OutageWithNothingLostOrDuplicated() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        chmod(dir.path, 0o755)
        let script = Services.packageRoot.appendingPathComponent("scripts/services.sh").path
        let servicesDir = dir.file("services")
        var shell = ProcessInfo.processInfo.environment
        shell["PIPELINE_SERVICES_DIR"] = servicesDir
        func services(_ arguments: [String]) async throws {
            let result = try await Command.run("/bin/bash", [script] + arguments, environment: shell)
            #expect(result.status == 0, "services.sh \(arguments): \(result.stderr)")
        }
        try await services(["up", "s3"])
        do {
            try await outage(dir: dir, servicesDir: servicesDir, services: services)
        } catch {
            try? await services(["down"])
            throw error
        }
        try await services(["down"])
    }

    func outage(
        dir: TemporaryDirectory, servicesDir: String, services: @escaping ([String]) async throws -> Void
    ) async throws {
        let settings = try String(contentsOfFile: servicesDir + "/env", encoding: .utf8)
            .split(separator: "\n").reduce(into: [String: String]()) { found, line in
                let parts = line.split(separator: "=", maxSplits: 1).map(String.init)
                if parts.count == 2 { found[parts[0]] = parts[1] }
            }
        var environment = [
            "HOME": dir.path, "PIPELINE_OBJECT_STORE_URL": "s3://\(settings["PIPELINE_TEST_S3_BUCKET"]!)/outage/",
            "AWS_ENDPOINT_URL_S3": settings["PIPELINE_TEST_S3_ENDPOINT"]!, "AWS_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": settings["PIPELINE_TEST_S3_ACCESS_KEY_ID"]!,
            "AWS_SECRET_ACCESS_KEY": settings["PIPELINE_TEST_S3_SECRET_ACCESS_KEY"]!,
            "PIPELINE_MANIFEST_URL": "sqlite://" + dir.file("manifest.db"),
            "PIPELINE_STAGING_ROOT": dir.file("staging"), "PIPELINE_STAGING_RESERVE_MIB": "16",
            "PIPELINE_LOG_FORMAT": "json", "PIPELINE_DATASET": "outage",
            // One object at a time, so that the outage lands in the middle of each run.
            "PIPELINE_INGEST_BATCH": "1", "PIPELINE_INGEST_CONCURRENCY": "1",
            "PIPELINE_NORMALIZE_BATCH": "1", "PIPELINE_NORMALIZE_CONCURRENCY": "1",
            "PIPELINE_NORMALIZE_VARIANTS": "train:24x24:pad:png",
        ]
        let shapes = try await Command.run(
            "pipelinectl", ["demo", "shapes", "--count", "\(Self.images)"], environment: environment)
        #expect(shapes.status == 0, "\(shapes.stderr)")
        let (_, _, _, objects, manifests) = try await Services.connect(environment, label: "outage-test")
        var raw: Set<String> = []
        for try await object in objects.listAll(prefix: "raw/") where !object.key.hasSuffix(".json") {
            raw.insert(object.key)
        }
        #expect(raw.count == Self.images)

        /// Runs `arguments`, stops the S3 server once `progress` reaches `after`, starts it again
        /// 30 s later, and returns what the run did (and its re-run, when it stopped).
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
            try await services(["stop", "s3"])
            let stoppedAt = try await progress()
            FileHandle.standardError.write(Data("S3 outage: \(what) stopped S3 at \(stoppedAt)\n".utf8))
            try await Task.sleep(for: .seconds(30))
            #expect(process.isRunning, "\(what) gave up during a 30 s outage")
            try await services(["up", "s3"])
            let deadline = ContinuousClock.now + .seconds(300)
            while process.isRunning, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(100)) }
            if process.isRunning { process.terminate() }
            let stdout = (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
            let stderr = (try? String(contentsOfFile: err, encoding: .utf8)) ?? ""
            var outcome = "\(what): S3 stopped after \(stoppedAt) of \(Self.images); "
            if process.terminationStatus == 0 {
                outcome += "the run waited the outage out and completed"
            } else {
                #expect(stderr.contains("run it again") || stderr.contains("error"), "a clear error: \(stderr.suffix(2000))")
                let again = try await Command.run(arguments[0], Array(arguments.dropFirst()), environment: environment)
                #expect(again.status == 0, "\(what) re-run: \(again.stderr.suffix(2000))")
                outcome += "the run stopped (exit \(process.terminationStatus)) and its re-run completed"
            }
            #expect(stderr.contains("goes back to the queue"), "the outage's failed attempts were logged")
            return outcome
        }

        // Ingest.
        let ingestQueue = "ingest/outage"
        let ingestOutcome = try await runThroughOutage(
            "ingest", ["pipeline-ingest", "poll", "--once"],
            progress: { try await manifests.queueCounts(queue: ingestQueue)[.completed] ?? 0 }, after: 20)
        let ingestCounts = try await manifests.queueCounts(queue: ingestQueue)
        #expect(ingestCounts[.dead] == 0 && ingestCounts[.completed] == Self.images, "\(ingestCounts)")
        let ingested = try #require(try await manifests.latestPublished(name: "outage", stage: "ingest"))
        let items = try await manifests.items(of: ingested.id, after: nil, limit: 10_000)
        #expect(items.count == Self.images && Set(items.map(\.sourceKey)) == raw, "each raw object once")
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
        #expect(variants.count == Self.images && Set(variants.map(\.sourceKey)) == raw)
        #expect(variants.allSatisfy { $0.variants["train"] != nil })
        let summary = try #require(
            try await manifests.queueSummaries(queue: nil).first { $0.queue.hasPrefix("normalize/") })
        #expect(summary.counts[.dead] == 0 && summary.counts[.completed] == Self.images, "\(summary.counts)")
        var stored: Set<String> = []
        for try await object in objects.listAll(prefix: "variants/") { stored.insert(object.key) }
        let referencedVariants = Set(variants.compactMap { $0.variants["train"]?.key })
        #expect(stored == referencedVariants, "no variant orphaned, none missing")
        FileHandle.standardError.write(
            Data(
                "S3 outage: \(ingestOutcome); \(normalizeOutcome); \(Self.images) objects, 0 lost, 0 duplicated, 0 dead\n"
                    .utf8))
    }
}
