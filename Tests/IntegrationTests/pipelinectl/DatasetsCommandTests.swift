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
        #expect(migrate.stdout.contains("schema up to date (version 2)"))
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
