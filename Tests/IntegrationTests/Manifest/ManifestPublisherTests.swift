import Foundation
import Logging
import Testing

@testable import PipelineCommon

@Suite("Publishing manifests: rows in the store, files next to the data")
struct ManifestPublisherTests {
    static let logger = Logger(label: "publisher-tests")

    static var combinations: [(ManifestKind, StoreKind)] {
        ManifestKind.available.flatMap { manifest in ObjectStoreContractTests.kinds.map { (manifest, $0) } }
    }

    static func items(_ count: Int) -> [DatasetItem] {
        (0..<count).map { index in
            DatasetItem(
                sourceKey: "raw/img \(index).jpg", sha256: Hex.encode(SHA256.hash(Data("\(index)".utf8))),
                size: UInt64(1000 + index),
                width: 100 + index, height: 50 + index, format: index % 3 == 0 ? "png" : "jpeg",
                annotations: #"[{"bbox":[1,2,3,4],"category":"cat \"\#(index)\""}]"#,
                variants: ["small": .init(key: "v/small/\(index).jpg", size: 10, width: 32, height: 16)],
                status: index == 4 ? .rejected : .ok, reason: index == 4 ? "truncated JPEG" : nil)
        }
    }

    @Test(arguments: combinations)
    func publishesFilesThatLoadBackAndRepublishingIsANoOp(_ manifest: ManifestKind, _ objects: StoreKind) async throws {
        let scratch = try await ScratchManifest.make(manifest)
        defer { scratch.dir.remove() }
        let objectStore = try ScratchStore.make(objects)
        let publisher = ManifestPublisher(store: scratch.store, objects: objectStore.store, logger: Self.logger)
        let config = #"{"augment":{"flip":true},"seed":7}"#
        let configHash = Hex.encode(SHA256.hash(Data(config.utf8)))

        let draft = try await scratch.store.createDraft(
            name: "pets", stage: "ingest", parents: [], configHash: configHash, config: config)
        try await scratch.store.addItems(Self.items(12), to: draft.id)
        let version = try await publisher.publish(draft, prefix: "datasets/pets/", workDirectory: scratch.dir.path)
        #expect(version.status == .published)
        #expect(version.id.hasPrefix("ingest-"))
        #expect(version.itemCount == 12)
        #expect(
            version.manifestURI == objectStore.store.location.uri(of: "datasets/pets/\(version.id)/manifest.json"))

        let loaded = try await ManifestReader.load(
            manifestKey: "datasets/pets/\(version.id)/manifest.json", from: objectStore.store,
            workDirectory: scratch.dir.path)
        #expect(loaded.summary.id == version.id)
        #expect(loaded.summary.itemCount == 12)
        #expect(loaded.summary.rejectedByReason == ["truncated JPEG": 1])
        #expect(loaded.summary.formats == ["jpeg": 8, "png": 4])
        #expect(loaded.summary.width?.min == 100 && loaded.summary.width?.max == 111)
        #expect(loaded.summary.contentDigest == version.contentDigest)
        let fromStore = try await scratch.store.items(of: version.id, after: nil, limit: 100)
        #expect(loaded.items == fromStore, "the files and the store hold the same items")

        // The same input with the same configuration yields the same version, not a new one.
        let again = try await scratch.store.createDraft(
            name: "pets", stage: "ingest", parents: [], configHash: configHash, config: config)
        try await scratch.store.addItems(Self.items(12).reversed(), to: again.id)
        let republished = try await publisher.publish(again, prefix: "datasets/pets/", workDirectory: scratch.dir.path)
        #expect(republished.id == version.id)
        #expect(try await scratch.store.versions(name: "pets", stage: "ingest", limit: 10).count == 1)

        // A different configuration is a different version.
        let other = try await scratch.store.createDraft(
            name: "pets", stage: "ingest", parents: [], configHash: "other", config: "{}")
        try await scratch.store.addItems(Self.items(12), to: other.id)
        #expect(
            try await publisher.publish(other, prefix: "datasets/pets/", workDirectory: scratch.dir.path).id
                != version.id)
        await objectStore.cleanup()
    }

    @Test func aTamperedItemsFileIsRefused() async throws {
        let scratch = try await ScratchManifest.make(.sqlite)
        defer { scratch.dir.remove() }
        let objects = try FileObjectStore(root: scratch.dir.path + "/objects")
        let publisher = ManifestPublisher(store: scratch.store, objects: objects, logger: Self.logger)
        let draft = try await scratch.store.createDraft(
            name: "pets", stage: "ingest", parents: [], configHash: "h", config: "{}")
        try await scratch.store.addItems(Self.items(3), to: draft.id)
        let version = try await publisher.publish(draft, prefix: "", workDirectory: scratch.dir.path)
        _ = try await objects.put("\(version.id)/manifest.jsonl", data: Data("{}\n".utf8), contentType: nil)
        await #expect {
            _ = try await ManifestReader.load(
                manifestKey: "\(version.id)/manifest.json", from: objects, workDirectory: scratch.dir.path)
        } throws: { error in
            "\(error)".contains("hashes to")
        }
    }

    @Test(.enabled(if: Services.available("PIPELINE_TEST_POSTGRES_URL"), Services.skipReason))
    func aDroppedConnectionIsReplaced() async throws {
        let scratch = try await ScratchManifest.make(.postgres)
        defer { scratch.dir.remove() }
        let store = try #require(scratch.store as? PostgresManifestStore)
        try await store.setCheckpoint(stage: "ingest", name: "cursor", value: "a")
        // Cut every connection of this database from the server side, as a restart would.
        let admin = try await PostgresConnection.connect(uri: Secret(try Services.value("PIPELINE_TEST_POSTGRES_URL")))
        let database = String(URLComponents(string: scratch.uri)!.path.dropFirst())
        let cut = try await admin.query(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            [database])
        #expect(cut.values.first?.first.flatMap { $0 }.flatMap { Int($0) } ?? 0 >= 1)
        try await store.setCheckpoint(stage: "ingest", name: "cursor", value: "b")
        #expect(try await store.checkpoint(stage: "ingest", name: "cursor") == "b")
    }
}
