import Foundation
import Logging
import TestSupport
import StageCommand
import Testing

@testable import PipelineCommon

/// The stage runtime on its own, with a stage made of nothing but an identity and a per-batch
/// transform, on both manifest stores.
@Suite("Stage runtime: claimed batches, outcomes, removals and publishing")
struct StageRunTests {
    struct Setup {
        let scratch: ScratchManifest
        let stage: StageRun

        static func make(_ kind: ManifestKind, scope: String = "input-1/abc", batchSize: Int = 4) async throws -> Setup {
            let scratch = try await ScratchManifest.make(kind, maxAttempts: 2)
            let configuration = try PipelineConfiguration.load(
                environment: [
                    "PIPELINE_DATA_DIR": scratch.dir.path, "PIPELINE_STAGING_ROOT": scratch.dir.file("nvme"),
                    "PIPELINE_STAGING_RESERVE_MIB": "0",
                ])
            let objects = try FileObjectStore(root: scratch.dir.file("objects"))
            let stage = StageRun(
                StageRun.Identity(
                    stage: "check", dataset: "d", scope: scope, parents: [], configHash: "h", config: "{}"),
                configuration: configuration, objects: objects, manifests: scratch.store, batchSize: batchSize,
                lease: .seconds(30), logger: Logger(label: "stage-run-test"))
            return Setup(scratch: scratch, stage: stage)
        }
    }

    static func item(_ key: String) -> DatasetItem {
        DatasetItem(sourceKey: key, sha256: String(repeating: "0", count: 64), size: 1)
    }

    /// Every kind of outcome in one run: done items are recorded and published, a failure is
    /// retried until dead, an outage goes back without using an attempt and is done the next
    /// time, and the transform runs in a staging directory that is gone afterwards.
    @Test(arguments: ManifestKind.available)
    func outcomesAreRecordedRetriedOrWaitedOutAndTheDraftIsPublished(_ kind: ManifestKind) async throws {
        let setup = try await Setup.make(kind)
        defer { setup.scratch.dir.remove() }
        let stage = setup.stage
        let keys = (0..<10).map { "raw/\($0).jpg" }
        #expect(try await stage.enqueue(keys.map(Self.item)) == 10)
        #expect(try await stage.enqueue(keys.map(Self.item)) == 0, "queued once")

        var attempts: [String: Int] = [:]
        var recordedDone = 0
        var failures = 0
        var stagingDirectories: [String] = []
        try await stage.drain(
            transform: { claims, _, run in
                stagingDirectories.append(run.directory)
                #expect(FileManager.default.fileExists(atPath: run.inputDirectory))
                return claims.map { claim -> WorkOutcome<String> in
                    let item = StageRun.item(of: claim)!
                    attempts[item.sourceKey, default: 0] += 1
                    switch item.sourceKey {
                    case "raw/3.jpg": return .failed("cannot be done")
                    // Unreachable the first time only: an outage uses up no attempt.
                    case "raw/5.jpg" where attempts[item.sourceKey] == 1: return .outage("store down")
                    default: return .done(items: [item], detail: item.sourceKey)
                    }
                }
            },
            recorded: { batch in
                #expect(batch.recorded)
                recordedDone += batch.done.count
                failures += batch.failures
            })
        #expect(recordedDone == 9)
        #expect(attempts["raw/3.jpg"] == 2, "failed until it died (max attempts 2)")
        #expect(attempts["raw/5.jpg"] == 2, "given back after the outage, then done")
        #expect(failures == 3)
        #expect(!stagingDirectories.isEmpty)
        #expect(stagingDirectories.allSatisfy { !FileManager.default.fileExists(atPath: $0) })
        let counts = try await stage.counts()
        #expect(counts[.completed] == 9 && counts[.dead] == 1 && (counts[.claimed] ?? 0) == 0)

        let version = try #require(try await stage.publishIfIdle())
        #expect(version.status == .published && version.stage == "check" && version.itemCount == 9)
        #expect(try await stage.lastPublished()?.id == version.id)
        #expect(try await stage.publishIfIdle() == nil, "nothing more to publish")
        let manifest = try await stage.objects.data("manifests/d/\(version.id)/manifest.jsonl", limit: 1 << 20).bytes
        #expect(String(decoding: manifest, as: UTF8.self).split(separator: "\n").count == 9)
    }

    /// A removal takes the object's items out of a draft seeded from the last version, and the
    /// batch's items are recorded before it.
    @Test(arguments: ManifestKind.available)
    func aRemovalTakesTheItemOutOfTheNextVersion(_ kind: ManifestKind) async throws {
        let setup = try await Setup.make(kind)
        defer { setup.scratch.dir.remove() }
        let base = setup.stage
        let stage = StageRun(
            StageRun.Identity(
                stage: "check", dataset: "d", scope: "d", seedFromLastPublished: true, configHash: "h", config: "{}"),
            configuration: try PipelineConfiguration.load(
                environment: [
                    "PIPELINE_DATA_DIR": setup.scratch.dir.path,
                    "PIPELINE_STAGING_ROOT": setup.scratch.dir.file("nvme"), "PIPELINE_STAGING_RESERVE_MIB": "0",
                ]),
            objects: base.objects, manifests: base.manifests, batchSize: 8, lease: .seconds(30),
            logger: Logger(label: "stage-run-test"))
        /// Works the queue; returns how many removals took an item out.
        func drain() async throws -> Int {
            var removed = 0
            try await stage.drain(
                transform: { claims, _, _ in
                    claims.map { claim -> WorkOutcome<Void> in
                        let item = StageRun.item(of: claim)!
                        if item.format == "removed" { return .removed(sourceKey: item.sourceKey, reason: "deleted") }
                        return .done(items: [item], detail: ())
                    }
                }, recorded: { removed += $0.removed })
            return removed
        }
        try await stage.enqueue(["raw/a.jpg", "raw/b.jpg"].map(Self.item))
        #expect(try await drain() == 0)
        let first = try #require(try await stage.publishIfIdle())
        #expect(first.itemCount == 2)

        let removal = DatasetItem(
            sourceKey: "raw/a.jpg", sha256: String(repeating: "0", count: 64), size: 1, format: "removed")
        try await base.manifests.enqueue(
            queue: stage.queue,
            items: [("raw/a.jpg@removed", String(decoding: try JSONEncoder().encode(removal), as: UTF8.self))])
        try await stage.enqueue([Self.item("raw/c.jpg")])
        #expect(try await drain() == 1)
        let second = try #require(try await stage.publishIfIdle())
        let keys = try await base.manifests.items(of: second.id, after: nil, limit: 10).map(\.sourceKey)
        #expect(keys == ["raw/b.jpg", "raw/c.jpg"])
        #expect(second.parents == [first.id])
    }

    /// Publishing waits while another worker still holds claims: its items would be missing.
    @Test(arguments: ManifestKind.available)
    func publishingWaitsForClaimsHeldElsewhere(_ kind: ManifestKind) async throws {
        let setup = try await Setup.make(kind)
        defer { setup.scratch.dir.remove() }
        let stage = setup.stage
        try await stage.enqueue(["raw/a.jpg", "raw/b.jpg"].map(Self.item))
        _ = try await stage.drafts.current()
        let held = try await stage.manifests.claimBatch(queue: stage.queue, worker: "other", limit: 1, lease: .seconds(30))
        #expect(held.count == 1)
        #expect(try await stage.publishIfIdle() == nil, "a claim is held: not idle")
    }
}

/// The augmented-copy relation, written and read in one place.
@Suite("Dataset items: the augmented-copy relation")
struct AugmentedCopyTests {
    @Test func aCopysKeyNamesItsOriginalAndNumber() {
        let key = DatasetItem.sourceKey(ofCopy: 3, of: "raw/cat.jpg")
        let copy = DatasetItem(sourceKey: key, sha256: "", size: 0).augmentedCopy
        #expect(copy == DatasetItem.AugmentedCopy(original: "raw/cat.jpg", number: 3))
        #expect(DatasetItem.originalKey(of: key) == "raw/cat.jpg")
    }

    @Test func anImageWhoseKeyHasAHashIsNoCopy() {
        for key in ["raw/a#b.jpg", "raw/a.jpg#aug", "raw/a.jpg#aug0", "raw/a.jpg#augx", "raw/a.jpg"] {
            #expect(DatasetItem(sourceKey: key, sha256: "", size: 0).augmentedCopy == nil, "\(key)")
            #expect(DatasetItem.originalKey(of: key) == key)
        }
        #expect(DatasetItem.originalKey(of: "raw/a#b.jpg#aug2") == "raw/a#b.jpg")
    }
}
