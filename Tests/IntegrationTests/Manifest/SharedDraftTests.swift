import Foundation
import Logging
import TestSupport
import Testing

@testable import PipelineCommon

/// The shared draft's hand-over to publishing, on both stores.
@Suite("Shared draft: publishing and the next draft")
struct SharedDraftTests {
    /// A publisher that dies after the store published its version but before it said so
    /// (`endPublishing`): the checkpoint that seeds the next draft moved with the publication,
    /// so once the dead publisher's lease is out the next draft starts from the version it
    /// published, not from the one before (which would drop that version's new items).
    @Test(arguments: ManifestKind.available)
    func aPublisherThatDiesAfterPublishingLeavesTheNextDraftSeededFromWhatItPublished(_ kind: ManifestKind)
        async throws
    {
        let scratch = try await ScratchManifest.make(kind)
        defer { scratch.dir.remove() }
        let store = scratch.store
        let objects = try FileObjectStore(root: scratch.dir.file("objects"))
        let publisher = ManifestPublisher(store: store, objects: objects, logger: Logger(label: "shared-draft-test"))
        let drafts = SharedDraft(
            store: store, stage: "ingest", dataset: "d", scope: "d", seedFromLastPublished: true, configHash: "h",
            config: "{}", lease: .seconds(1))
        func item(_ key: String) -> DatasetItem {
            DatasetItem(sourceKey: key, sha256: String(repeating: "0", count: 64), size: 1)
        }
        func publish(_ id: String) async throws -> DatasetVersion {
            #expect(try await drafts.beginPublishing(id))
            let draft = try #require(try await store.version(id))
            return try await publisher.publish(
                draft, prefix: "manifests/d/", workDirectory: scratch.dir.path, recording: drafts.publishedCheckpoint)
        }

        let first = try await drafts.current()
        try await store.addItems([item("raw/a.jpg")], to: first)
        let v1 = try await publish(first)
        try await drafts.endPublishing(first, published: v1.id)

        let second = try await drafts.current()
        try await store.addItems([item("raw/b.jpg")], to: second)
        let v2 = try await publish(second)
        // The publisher dies here, before endPublishing.
        #expect(v2.id != v1.id)
        #expect(try await drafts.lastPublished() == v2.id, "the checkpoint moved with the publication")

        try await Task.sleep(for: .milliseconds(2100))  // the dead publisher's lease (1 s) runs out
        let third = try await drafts.current()
        let seeded = try await store.items(of: third, after: nil, limit: 10).map(\.sourceKey)
        #expect(seeded == ["raw/a.jpg", "raw/b.jpg"], "the next draft starts from \(v2.id)")
        #expect(try await store.version(third)?.parents == [v2.id])
    }
}
