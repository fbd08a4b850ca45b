import Foundation
import PipelineCommon
import TestSupport
import Testing

/// SIGTERM to `pipeline-ingest poll` (the service) in the middle of a batch: the worker records
/// the batch in hand, claims no other, and exits 0 within the grace; it holds no claim after,
/// and the next run completes the queue with every object in the version exactly once.
@Suite("Faults: SIGTERM mid-batch")
struct GracefulShutdownTests {
    /// Enough batches that the service is still busy when the test has seen it hold one: with
    /// images staged in memory and decoded by libjpeg, 400 demo images in batches of 4 were once
    /// all ingested between two looks of the test process on a loaded machine. Batches of one
    /// image make the run longer (a commit each) without making it heavier for the tests beside
    /// it, as 2 000 images did.
    static let images = 600

    @Test func sigtermFinishesTheBatchInHandAndLeavesNoClaim() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let environment = [
            "HOME": dir.path, "PIPELINE_DATA_DIR": dir.file("data"), "PIPELINE_METRICS_PORT": "0",
            "PIPELINE_LOG_FORMAT": "json", "PIPELINE_DATASET": "sigterm", "PIPELINE_INGEST_BATCH": "1",
            "PIPELINE_INGEST_CONCURRENCY": "1", "PIPELINE_SHUTDOWN_GRACE": "60",
        ]
        let shapes = try await Command.run(
            "pipelinectl", ["demo", "shapes", "--count", "\(Self.images)"], environment: environment)
        #expect(shapes.status == 0, "\(shapes.stderr)")
        let (_, _, _, objects, manifests) = try await Services.connect(environment, label: "sigterm")
        let queue = "ingest/sigterm"
        let err = dir.file("poll.err")
        FileManager.default.createFile(atPath: err, contents: nil)
        let process = Process()
        process.executableURL = Command.buildDirectory.appendingPathComponent("pipeline-ingest")
        process.arguments = ["poll"]
        process.environment = environment
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle(forWritingAtPath: err)
        try process.run()
        // Wait until it has done some batches and, if the looks catch it, holds one. A loaded
        // machine can starve this process's looks (CI once saw 600 images done and never a
        // claim held), so after 200 done it is signalled anyway: wherever the signal lands, the
        // service must exit 0 holding nothing, and the next run must complete the queue.
        var done = 0
        var holders: [String] = []
        let started = ContinuousClock.now
        while process.isRunning, ContinuousClock.now - started < .seconds(120), done < Self.images {
            done = (try? await manifests.queueCounts(queue: queue)[.completed]) ?? 0
            holders = (try? await manifests.claimHolders(queue: queue)) ?? []
            if done >= 8, !holders.isEmpty || done >= 200 { break }
            try await Task.sleep(for: .milliseconds(5))
        }
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        try #require(process.isRunning, "the service ended before it was sent SIGTERM")
        try #require(done < Self.images, "the service did all its work before it was signalled (\(done) done)")
        let midBatch = !holders.isEmpty
        kill(process.processIdentifier, SIGTERM)
        let deadline = ContinuousClock.now + .seconds(90)
        while process.isRunning, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        let log = (try? String(contentsOfFile: err, encoding: .utf8)) ?? ""
        #expect(!process.isRunning, "SIGTERM did not stop the service within the grace")
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        #expect(process.terminationReason == .exit && process.terminationStatus == 0, "\(log.suffix(2000))")
        let after = try await manifests.queueCounts(queue: queue)
        #expect((after[.claimed] ?? 0) == 0, "the batch in hand was recorded, not left claimed: \(after)")
        #expect(try await manifests.claimHolders(queue: queue).isEmpty)
        let stoppedAt = after[.completed] ?? 0
        #expect(stoppedAt < Self.images, "stopped before the end (\(stoppedAt) done)")

        let again = try await Command.run("pipeline-ingest", ["poll", "--once"], environment: environment)
        #expect(again.status == 0, "\(again.stderr.suffix(2000))")
        let version = try #require(try await manifests.latestPublished(name: "sigterm", stage: "ingest"))
        let items = try await manifests.items(of: version.id, after: nil, limit: 10_000)
        var raw: Set<String> = []
        for try await object in objects.listAll(prefix: "raw/") where !object.key.hasSuffix(".json") {
            raw.insert(object.key)
        }
        #expect(items.count == Self.images && Set(items.map(\.sourceKey)) == raw, "each raw object once")
        FileHandle.standardError.write(
            Data(
                "SIGTERM mid-batch (claim seen held when signalled: \(midBatch)): the service recorded its batch and exited 0 after \(stoppedAt) of \(Self.images), holding no claim; the next run completed, \(items.count) items, 0 lost, 0 duplicated\n"
                    .utf8))
    }
}
