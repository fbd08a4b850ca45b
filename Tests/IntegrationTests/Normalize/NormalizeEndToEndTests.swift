import Foundation
import IngestStage
import Logging
import NormalizeStage
import PipelineCommon
import TestSupport
import StageCommand
import Testing

@Suite(
    "pipeline-normalize against the signature-checking S3 server and PostgreSQL",
    .enabled(if: Services.available("PIPELINE_TEST_S3_ENDPOINT", "PIPELINE_TEST_POSTGRES_URL"), Services.skipReason))
struct NormalizeEndToEndTests {
    struct Setup {
        let environment: [String: String]
        let objects: any ObjectStore
        let manifests: any ManifestStore
        let input: DatasetVersion
    }

    /// Photographs and generated images ingested into a fresh prefix and dataset.
    static func ingested(_ dir: TemporaryDirectory, generated: Int) async throws -> Setup {
        let bucket = try Services.value("PIPELINE_TEST_S3_BUCKET")
        let run = "normalize-\(UUID().uuidString.prefix(8).lowercased())"
        var environment = try Services.pipelineEnvironment(stagingRoot: dir.path + "/staging")
        environment["PIPELINE_OBJECT_STORE_URL"] = "s3://\(bucket)/\(run)/"
        environment["PIPELINE_DATASET"] = run
        let (configuration, logger, _, objects, manifests) = try await Services.connect(
            environment, label: "normalize-e2e")
        var files = TestImages.samplePhotographs(settings: Services.settings).prefix(4).map {
            ("raw/" + ($0 as NSString).lastPathComponent, $0)
        }
        for index in 0..<generated {
            files.append(
                (
                    "raw/g\(index).jpg",
                    try TestImages.photo(dir, "g\(index).jpg", width: 400 + index, height: 300, seed: index)
                ))
        }
        for (key, path) in files {
            _ = try await objects.put(key, fromFile: path, contentType: MediaType.forPath(key), sha256: nil)
        }
        let ingestor = Ingestor(configuration: configuration, objects: objects, manifests: manifests, logger: logger)
        let input = try #require(try await ingestor.runOnce().published)
        return Setup(environment: environment, objects: objects, manifests: manifests, input: input)
    }

    @Test func normalizesThenRerunsAsANoOp() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let setup = try await Self.ingested(dir, generated: 4)
        let first = try await Command.run("pipeline-normalize", [], environment: setup.environment)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.contains("normalized \(setup.input.itemCount) images"), "\(first.stdout)")
        print("normalize of the test set: \(first.stdout)")
        let versionId = try #require(first.stdout.split(separator: " ").first { $0.hasPrefix("normalize-") })
        let version = try #require(try await setup.manifests.version(String(versionId)))
        #expect(version.parents == [setup.input.id] && version.itemCount == setup.input.itemCount)
        let items = try await setup.manifests.items(of: version.id, after: nil, limit: 100)
        #expect(items.allSatisfy { $0.variants.count == 3 })
        for variant in items.flatMap({ $0.variants.values }) {
            #expect(try await setup.objects.head(variant.key).size == variant.size)
        }

        let second = try await Command.run(
            "pipeline-normalize", ["--dataset", setup.input.id], environment: setup.environment)
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.stdout.contains("\(version.id) (nothing written)"), "\(second.stdout)")
    }

    @Test func aKilledRunResumesWithoutDuplicates() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let setup = try await Self.ingested(dir, generated: 10)
        var environment = setup.environment
        environment["PIPELINE_NORMALIZE_BATCH"] = "1"
        environment["PIPELINE_NORMALIZE_CONCURRENCY"] = "1"
        environment["PIPELINE_NORMALIZE_LEASE"] = "5"
        let process = Process()
        process.executableURL = Command.buildDirectory.appendingPathComponent("pipeline-normalize")
        process.environment = environment
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Kill it once it has done some of the work, while it holds an image.
        let queue = Normalizer(
            configuration: try PipelineConfiguration.load(environment: environment), objects: setup.objects,
            manifests: setup.manifests, resizer: VipsResizer(), logger: Logger(label: "test")
        ).queue(for: setup.input.id)
        var completed = 0
        for _ in 0..<600 where completed < 3 {
            try await Task.sleep(for: .milliseconds(50))
            completed = try await setup.manifests.queueCounts(queue: queue)[.completed] ?? 0
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(completed >= 3 && completed < setup.input.itemCount, "killed after \(completed) images")

        let resumed = try await Command.run("pipeline-normalize", [], environment: environment)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let counts = try await setup.manifests.queueCounts(queue: queue)
        #expect(counts[.completed] == setup.input.itemCount && (counts[.dead] ?? 0) == 0)
        let versionId = try #require(resumed.stdout.split(separator: " ").first { $0.hasPrefix("normalize-") })
        let items = try await setup.manifests.items(of: String(versionId), after: nil, limit: 100)
        #expect(items.count == setup.input.itemCount)
        #expect(Set(items.map(\.sourceKey)).count == items.count)
    }

    @Test func badConfigurationAndAnUnavailableResizerExitWithTwo() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let environment = ["HOME": dir.path, "PIPELINE_DATA_DIR": dir.path]
        let bad = try dir.write("bad.yaml", "normalize:\n  variants:\n    - {name: a, size: 64, fit: stretch}\n")
        let config = try await Command.run("pipeline-normalize", ["--config", bad], environment: environment)
        #expect(config.status == 2)
        #expect(config.stderr.contains("normalize.variants") && config.stderr.contains("stretch"), "\(config.stderr)")
        let gpu = try await Command.run("pipeline-normalize", ["--resizer", "gpu"], environment: environment)
        #expect(gpu.status == 2)
        #expect(gpu.stderr.contains("no GPU resizer"), "\(gpu.stderr)")
    }
}
