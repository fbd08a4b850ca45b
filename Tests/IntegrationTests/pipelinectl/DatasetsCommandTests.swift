import Foundation
import Logging
import Testing

@testable import PipelineCommon

@Suite("pipelinectl migrate and datasets")
struct DatasetsCommandTests {
    @Test(arguments: ManifestKind.available)
    func migratesListsShowsAndTracesLineage(_ kind: ManifestKind) async throws {
        let scratch = try await ScratchManifest.make(kind)
        defer { scratch.dir.remove() }
        let environment = [
            "HOME": scratch.dir.path, "PIPELINE_MANIFEST_URL": scratch.uri, "PIPELINE_LOG_LEVEL": "warning",
        ]
        let migrate = try await Command.run("pipelinectl", ["migrate"], environment: environment)
        #expect(migrate.status == 0, "\(migrate.stderr)")
        #expect(migrate.stdout.contains("schema up to date (version 4)"))
        #expect(!migrate.stdout.contains(URLComponents(string: scratch.uri)?.password ?? "\u{0}"))

        let store = scratch.store
        let raw = try await store.createDraft(name: "pets", stage: "ingest", parents: [], configHash: "a", config: "{}")
        try await store.addItems(
            [DatasetItem(sourceKey: "raw/cat.jpg", sha256: "abc", size: 10, width: 4, height: 3, format: "jpeg")],
            to: raw.id)
        let ingest = try await store.publish(
            draft: raw.id, as: "ingest-1", contentDigest: "d", manifestURI: "file:///x/manifest.json")
        let child = try await store.createDraft(
            name: "pets", stage: "normalize", parents: [ingest.id], configHash: "b", config: "{}")

        let list = try await Command.run("pipelinectl", ["datasets", "list"], environment: environment)
        #expect(list.stdout.split(separator: "\n").first?.hasPrefix("ID") == true)
        #expect(list.stdout.contains("ingest-1") && list.stdout.contains(child.id))
        let json = try await Command.run(
            "pipelinectl", ["datasets", "list", "--json", "--stage", "ingest"], environment: environment)
        let decoded = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]]
        #expect(decoded?.map { $0["id"] as? String } == ["ingest-1"])

        let show = try await Command.run("pipelinectl", ["datasets", "show", "ingest-1"], environment: environment)
        #expect(show.stdout.contains("raw/cat.jpg") && show.stdout.contains("4x3"))
        let lineage = try await Command.run("pipelinectl", ["datasets", "lineage", child.id], environment: environment)
        #expect(lineage.stdout.contains("-1     ingest-1"))
        let missing = try await Command.run("pipelinectl", ["datasets", "show", "nope"], environment: environment)
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("no dataset version nope"))
    }
}

@Suite("pipelinectl queues")
struct QueuesCommandTests {
    @Test(arguments: ManifestKind.available)
    func listsShowsAndPrunesQueues(_ kind: ManifestKind) async throws {
        let scratch = try await ScratchManifest.make(kind, maxAttempts: 1)
        defer { scratch.dir.remove() }
        let environment = [
            "HOME": scratch.dir.path, "PIPELINE_MANIFEST_URL": scratch.uri, "PIPELINE_LOG_LEVEL": "warning",
        ]
        let store = scratch.store
        let queue = "normalize/v9/0123456789abcdef"
        try await store.enqueue(queue: queue, items: [("raw/ok.jpg", "{}"), ("raw/bad.jpg", "{}"), ("raw/next.jpg", "{}")])
        _ = try await store.claimBatch(queue: queue, worker: "node-3-77-1-4026531836", limit: 2, lease: .seconds(300))
        try await store.complete(queue: queue, worker: "node-3-77-1-4026531836", keys: ["raw/next.jpg"])
        try await store.fail(
            queue: queue, worker: "node-3-77-1-4026531836", failures: [("raw/bad.jpg", "vips: not a known image format")])
        _ = try await store.claimBatch(queue: queue, worker: "node-3-77-1-4026531836", limit: 1, lease: .seconds(300))

        let list = try await Command.run("pipelinectl", ["queues", "list"], environment: environment)
        #expect(list.status == 0, "\(list.stderr)")
        let row = try #require(list.stdout.split(separator: "\n").first { $0.hasPrefix(queue) })
        #expect(row.split(separator: " ", omittingEmptySubsequences: true).prefix(5).joined(separator: " ")
            == "\(queue) 0 1 1 1", "\(list.stdout)")
        #expect(row.contains("by node-3-77-1-4026531836"))
        let json = try await Command.run("pipelinectl", ["queues", "list", "--json"], environment: environment)
        let decoded = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]]
        #expect(decoded?.first?["queue"] as? String == queue && decoded?.first?["dead"] as? Int == 1)

        let show = try await Command.run("pipelinectl", ["queues", "show", queue], environment: environment)
        #expect(show.status == 0, "\(show.stderr)")
        #expect(show.stdout.contains("raw/bad.jpg") && show.stdout.contains("vips: not a known image format"))
        #expect(show.stdout.contains("workers holding claims: node-3-77-1-4026531836"), "\(show.stdout)")
        let missing = try await Command.run("pipelinectl", ["queues", "show", "nope"], environment: environment)
        #expect(missing.status == 2 && missing.stderr.contains("no queue nope"))

        // The default retention (168 h) keeps everything; an explicit cutoff prunes the dead item.
        let kept = try await Command.run("pipelinectl", ["queues", "prune"], environment: environment)
        #expect(kept.stdout.contains("pruned 0 completed and 0 dead"), "\(kept.stdout)\(kept.stderr)")
        let never = try await Command.run(
            "pipelinectl", ["queues", "prune"], environment: environment.merging(["PIPELINE_WORK_RETENTION_HOURS": "0"]) { $1 })
        #expect(never.status == 2 && never.stderr.contains("--older-than-hours"))
        let pruned = try await Command.run(
            "pipelinectl", ["queues", "prune", "--older-than-hours", "0"], environment: environment)
        #expect(pruned.stdout.contains("pruned 0 completed and 1 dead"), "\(pruned.stdout)\(pruned.stderr)")
        #expect(try await store.queueCounts(queue: queue) == [.available: 0, .claimed: 1, .completed: 1, .dead: 0])
    }
}
