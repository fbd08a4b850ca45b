import Foundation
import Logging
import PipelineCommon
import TestSupport
import Testing

/// The staging root on a small filesystem (a 4 MiB tmpfs) that is full: ingest and normalize
/// refuse each batch before writing anything (the batch goes back to the queue without using up
/// an attempt, and the log says why and what to do), publish nothing, and complete once space
/// is back; every raw object then is in each version exactly once and nothing is orphaned.
@Suite(
    "Faults: the staging root full",
    .enabled(
        if: getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/bin/mount")
            && Services.available("PIPELINE_TEST_S3_ENDPOINT"),
        "needs root (to mount a tmpfs) and the S3 server of scripts/services.sh"))
struct StagingFullTests {
    static let images = 60

    @Test func aFullStagingRootRefusesBatchesBeforeWritingAndTheRunCompletesOnceSpaceIsBack() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let staging = dir.file("staging")
        try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: true)
        let mount = try await Command.run(
            "/bin/mount", ["-t", "tmpfs", "-o", "size=4m", "tmpfs", staging], environment: [:])
        try #require(mount.status == 0, "mount: \(mount.stderr)")
        do {
            try await fill(dir: dir, staging: staging)
        } catch {
            _ = try? await Command.run("/bin/umount", [staging], environment: [:])
            throw error
        }
        _ = try await Command.run("/bin/umount", [staging], environment: [:])
    }

    func fill(dir: TemporaryDirectory, staging: String) async throws {
        var environment = try Services.pipelineEnvironment(stagingRoot: staging)
        let prefix = "staging-full-\(UUID().uuidString.prefix(8).lowercased())"
        environment["PIPELINE_OBJECT_STORE_URL"] = "s3://\(try Services.value("PIPELINE_TEST_S3_BUCKET"))/\(prefix)/"
        environment["PIPELINE_MANIFEST_URL"] = "sqlite://" + dir.file("manifest.db")
        environment["PIPELINE_STAGING_RESERVE_MIB"] = "1"
        environment["PIPELINE_DATASET"] = "full"
        environment["PIPELINE_INGEST_BATCH"] = "8"
        environment["PIPELINE_NORMALIZE_BATCH"] = "8"
        environment["PIPELINE_NORMALIZE_VARIANTS"] = "train:24x24:pad:png"
        let shapes = try await Command.run(
            "pipelinectl", ["demo", "shapes", "--count", "\(Self.images)"], environment: environment)
        #expect(shapes.status == 0, "\(shapes.stderr)")
        let (_, _, _, objects, manifests) = try await Services.connect(environment, label: "staging-full")
        var raw: Set<String> = []
        for try await object in objects.listAll(prefix: "raw/") where !object.key.hasSuffix(".json") {
            raw.insert(object.key)
        }
        #expect(raw.count == Self.images)

        /// Fills the staging filesystem to half a MiB free (under the 1 MiB reserve), starts the
        /// stage, checks it refuses every batch while full, then frees the space and waits.
        func runWhileFull(_ what: String, _ arguments: [String], queue: @escaping () async throws -> String?)
            async throws
        {
            let filler = staging + "/filler"
            let free = try FileSystemProbe.space(at: staging).freeBytes
            let size = Int(free) - (512 << 10)
            #expect(FileManager.default.createFile(atPath: filler, contents: Data(count: max(0, size))))
            let err = dir.file("\(what).err")
            FileManager.default.createFile(atPath: err, contents: nil)
            let process = Process()
            process.executableURL = Command.buildDirectory.appendingPathComponent(arguments[0])
            process.arguments = Array(arguments.dropFirst())
            process.environment = environment
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle(forWritingAtPath: err)
            try process.run()
            var log = ""
            for _ in 0..<300 where !log.contains("staging has no room") {
                try await Task.sleep(for: .milliseconds(100))
                log = (try? String(contentsOfFile: err, encoding: .utf8)) ?? ""
            }
            #expect(log.contains("staging has no room for the batch; it goes back to the queue"), "\(log.suffix(2000))")
            #expect(log.contains("free space, lower staging.reserve_mib"), "the error says what to do")
            try await Task.sleep(for: .seconds(3))
            #expect(process.isRunning, "\(what) gave up while staging was full: \(log.suffix(2000))")
            if let queue = try await queue() {
                let counts = try await manifests.queueCounts(queue: queue)
                #expect(
                    (counts[.completed] ?? 0) == 0 && (counts[.dead] ?? 0) == 0, "nothing done while full: \(counts)")
            }
            // Nothing but the filler was written.
            let left = try FileManager.default.subpathsOfDirectory(atPath: staging).filter {
                !$0.hasPrefix("filler") && !FileManager.default.fileExists(atPath: staging + "/" + $0 + "/.")
            }
            #expect(left.isEmpty, "written while full: \(left)")
            try FileManager.default.removeItem(atPath: filler)
            let deadline = ContinuousClock.now + .seconds(180)
            while process.isRunning, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(100)) }
            if process.isRunning { process.terminate() }
            #expect(process.terminationStatus == 0, "\(what) once space was back: \(log.suffix(2000))")
        }

        // Ingest: nothing curated, no version while full.
        try await runWhileFull("ingest", ["pipeline-ingest", "poll", "--once"], queue: { "ingest/full" })
        let ingested = try #require(try await manifests.latestPublished(name: "full", stage: "ingest"))
        let items = try await manifests.items(of: ingested.id, after: nil, limit: 10_000)
        #expect(items.count == Self.images && Set(items.map(\.sourceKey)) == raw, "each raw object once")
        #expect(items.allSatisfy { $0.status == .ok })
        var curated: Set<String> = []
        for try await object in objects.listAll(prefix: "curated/") { curated.insert(object.key) }
        #expect(curated == Set(items.compactMap { $0.variants["original"]?.key }), "no curated object orphaned")
        let ingestCounts = try await manifests.queueCounts(queue: "ingest/full")
        #expect(ingestCounts[.completed] == Self.images && (ingestCounts[.dead] ?? 0) == 0, "\(ingestCounts)")

        // Normalize.
        try await runWhileFull(
            "normalize", ["pipeline-normalize"],
            queue: { try await manifests.queueSummaries(queue: nil).first { $0.queue.hasPrefix("normalize/") }?.queue })
        let normalized = try #require(try await manifests.latestPublished(name: "full", stage: "normalize"))
        let variants = try await manifests.items(of: normalized.id, after: nil, limit: 10_000)
        #expect(variants.count == Self.images && Set(variants.map(\.sourceKey)) == raw)
        var stored: Set<String> = []
        for try await object in objects.listAll(prefix: "variants/") { stored.insert(object.key) }
        #expect(stored == Set(variants.compactMap { $0.variants["train"]?.key }), "no variant orphaned")
        let summary = try #require(
            try await manifests.queueSummaries(queue: nil).first { $0.queue.hasPrefix("normalize/") })
        #expect(summary.counts[.completed] == Self.images && (summary.counts[.dead] ?? 0) == 0, "\(summary.counts)")
        FileHandle.standardError.write(
            Data(
                "staging full: ingest and normalize refused their batches while full, then completed; \(Self.images) objects, 0 lost, 0 duplicated\n"
                    .utf8))
    }
}
