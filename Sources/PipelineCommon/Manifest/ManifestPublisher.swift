import Foundation
import Logging

/// Publishes a draft twice: as rows in the manifest store (queryable, transactional) and as
/// `manifest.jsonl` (one item a line) plus `manifest.json` (summary) next to the data in the
/// object store (portable). The version id is derived from the content, so publishing the
/// same items with the same configuration again returns the existing version.
public struct ManifestPublisher: Sendable {
    public let store: any ManifestStore
    public let objects: any ObjectStore
    private let logger: Logger

    public init(store: any ManifestStore, objects: any ObjectStore, logger: Logger) {
        self.store = store
        self.objects = objects
        self.logger = logger
    }

    /// Publishes `draft` with its files under `<prefix><version-id>/`, using `workDirectory`
    /// for the temporary manifest file. `recording` names the checkpoint that records the
    /// published version (given its id): it is set with the publication, or, when an existing
    /// version is reused, before the draft is discarded.
    public func publish(
        _ draft: DatasetVersion, prefix: String, workDirectory: String,
        recording: (@Sendable (String) -> ManifestCheckpoint)? = nil
    ) async throws -> DatasetVersion {
        let lines = workDirectory + "/manifest-\(draft.id).jsonl"
        defer { unlink(lines) }
        guard FileManager.default.createFile(atPath: lines, contents: nil),
            let handle = FileHandle(forWritingAtPath: lines)
        else { throw ManifestStoreError(.database, "cannot write \(lines)") }
        let digest = SHA256()
        var summary = ManifestSummary.Accumulator()
        var after: String?
        repeat {
            let page = try await store.items(of: draft.id, after: after, limit: 10_000)
            // Canonical JSON lines (annotations and variants re-serialised) on every core; the
            // digest and the summary in order.
            let encoded = try await concurrentChunkedMap(page) { Data((ManifestLine.encode($0) + "\n").utf8) }
            var chunk = Data(capacity: encoded.reduce(0) { $0 + $1.count })
            for (item, line) in zip(page, encoded) {
                digest.update(line)
                chunk.append(line)
                summary.add(item)
            }
            try handle.write(contentsOf: chunk)
            after = page.count == 10_000 ? page.last?.sourceKey : nil
        } while after != nil
        try handle.synchronize()
        try handle.close()
        let contentDigest = Hex.encode(digest.finalize())
        let finalId = Self.versionId(for: draft, contentDigest: contentDigest)

        // A draft that only repeats its parent (same stage, name, configuration and items) is
        // not a new version: a stage re-run that changed nothing yields the parent again.
        if draft.parents.count == 1, let parent = try await store.version(draft.parents[0]),
            parent.status == .published, parent.contentDigest == contentDigest, parent.stage == draft.stage,
            parent.name == draft.name, parent.configHash == draft.configHash
        {
            if let checkpoint = recording?(parent.id) {
                try await store.setCheckpoint(stage: checkpoint.stage, name: checkpoint.name, value: checkpoint.value)
            }
            try await store.discardDraft(draft.id)
            logger.info("nothing changed since the parent version; reusing it", metadata: ["version": "\(parent.id)"])
            return parent
        }
        if let existing = try await store.version(finalId), existing.status == .published {
            if let checkpoint = recording?(finalId) {
                try await store.setCheckpoint(stage: checkpoint.stage, name: checkpoint.name, value: checkpoint.value)
            }
            try await store.discardDraft(draft.id)
            logger.info("same content published before; reusing the version", metadata: ["version": "\(finalId)"])
            return existing
        }
        let directory = prefix + finalId + "/"
        _ = try await objects.put(
            directory + "manifest.jsonl", fromFile: lines, contentType: "application/x-ndjson", sha256: nil)
        var manifest = summary.summary(
            version: draft, id: finalId, contentDigest: contentDigest, itemsKey: "manifest.jsonl")
        let removed = try await store.removedItems(of: draft.id)
        manifest.removed = removed.isEmpty ? nil : removed
        _ = try await objects.put(
            directory + "manifest.json", data: try ManifestSummary.encoder.encode(manifest),
            contentType: "application/json")
        let uri = objects.location.uri(of: directory + "manifest.json")
        return try await store.publish(
            draft: draft.id, as: finalId, contentDigest: contentDigest, manifestURI: uri,
            checkpoint: recording?(finalId))
    }

    /// `<stage>-<20 hex>` from everything that defines the version's content.
    public static func versionId(for draft: DatasetVersion, contentDigest: String) -> String {
        let identity = [
            "manifest-v1", draft.name, draft.stage, draft.parents.joined(separator: ","), draft.configHash,
            contentDigest,
        ]
        .joined(separator: "\n")
        return draft.stage + "-" + Hex.encode(SHA256.hash(Data(identity.utf8)).prefix(10))
    }
}
