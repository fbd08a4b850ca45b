import Foundation
import Logging
import TestSupport
import Testing

@testable import PipelineCommon

enum ManifestKind: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case sqlite
    case postgres

    var testDescription: String { rawValue }

    static var available: [ManifestKind] {
        Services.available("PIPELINE_TEST_POSTGRES_URL") ? [.sqlite, .postgres] : [.sqlite]
    }
}

/// A fresh, migrated manifest store: a SQLite file, or a new PostgreSQL database.
struct ScratchManifest {
    let store: any ManifestStore
    let dir: TemporaryDirectory
    let uri: String

    static func make(_ kind: ManifestKind, maxAttempts: Int = 3) async throws -> ScratchManifest {
        let dir = try TemporaryDirectory()
        switch kind {
        case .sqlite:
            let path = dir.file("manifest.db")
            let store = try await SQLiteManifestStore.open(path: path, maxAttempts: maxAttempts)
            try await store.migrate()
            return ScratchManifest(store: store, dir: dir, uri: "sqlite://" + path)
        case .postgres:
            let uri = try await freshDatabase()
            let store = PostgresManifestStore(uri: Secret(uri), poolSize: 4, maxAttempts: maxAttempts)
            try await store.migrate()
            return ScratchManifest(store: store, dir: dir, uri: uri)
        }
    }

    /// A new empty database on the test server, so suites never see each other's rows.
    static func freshDatabase() async throws -> String {
        let base = try Services.value("PIPELINE_TEST_POSTGRES_URL")
        let name = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased()
        let admin = try await PostgresConnection.connect(uri: Secret(base))
        // Identifiers cannot be parameters; this one is generated above from hex digits only.
        try await admin.query("CREATE DATABASE \(name)")
        var components = URLComponents(string: base)!
        components.path = "/" + name
        return components.string!
    }
}

@Suite("Manifest store contract: SQLite and PostgreSQL behave the same")
struct ManifestStoreContractTests {
    static let item = DatasetItem(
        sourceKey: "raw/cat.jpg", sha256: String(repeating: "a", count: 64), size: 1234, width: 640, height: 480,
        format: "jpeg", annotations: #"[{"bbox":[1,2,3,4],"category":"cat"}]"#,
        variants: ["thumb": .init(key: "v/thumb/cat.jpg", size: 100, width: 64, height: 48)])

    @Test(arguments: ManifestKind.available)
    func migrationsFromEmptyAreIdempotent(_ kind: ManifestKind) async throws {
        let scratch = try await ScratchManifest.make(kind)
        defer { scratch.dir.remove() }
        #expect(try await scratch.store.schemaVersion() == 4)
        #expect(try await scratch.store.migrate() == [], "a second run applies nothing")
        #expect(try await scratch.store.schemaVersion() == 4)
    }

    @Test(arguments: ManifestKind.available)
    func concurrentMigrationsEndInOneSchema(_ kind: ManifestKind) async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let stores: [any ManifestStore]
        switch kind {
        case .sqlite:
            let path = dir.file("m.db")
            stores = [try await SQLiteManifestStore.open(path: path), try await SQLiteManifestStore.open(path: path)]
        case .postgres:
            let uri = try await ScratchManifest.freshDatabase()
            stores = [PostgresManifestStore(uri: Secret(uri)), PostgresManifestStore(uri: Secret(uri))]
        }
        let applied = try await withThrowingTaskGroup(of: [Int].self) { group in
            for store in stores { group.addTask { try await store.migrate() } }
            var all: [[Int]] = []
            for try await result in group { all.append(result) }
            return all
        }
        #expect(applied.flatMap { $0 }.sorted() == [1, 2, 3, 4], "each migration applied exactly once: \(applied)")
        #expect(try await stores[0].schemaVersion() == 4)
    }

    /// `pipelinectl queues release`: the claims of a worker on a lost host come back at once;
    /// a worker name of this host whose process runs is never taken for dead.
    @Test(arguments: ManifestKind.available)
    func releasedClaimsAreClaimedAgainAtOnce(_ kind: ManifestKind) async throws {
        let scratch = try await ScratchManifest.make(kind)
        defer { scratch.dir.remove() }
        let store = scratch.store
        try await store.enqueue(queue: "q", items: (0..<5).map { ("k\($0)", "{}") })
        try await store.enqueue(queue: "other", items: [("x", "{}")])
        let lost = "lost-host-4242-99-4026531836"
        #expect(try await store.claimBatch(queue: "q", worker: lost, limit: 3, lease: .seconds(300)).count == 3)
        #expect(try await store.claimBatch(queue: "other", worker: lost, limit: 1, lease: .seconds(300)).count == 1)
        #expect(try await store.claimHolders(queue: "q") == [lost])
        #expect(try await store.releaseClaimsOfDeadLocalWorkers(queue: "q").isEmpty, "another host: leases rule")
        #expect(try await store.claimBatch(queue: "q", worker: "w", limit: 5, lease: .seconds(300)).count == 2)
        #expect(try await store.releaseClaims(queue: "q", worker: lost) == 3)
        #expect(try await store.releaseClaims(queue: "q", worker: lost) == 0, "nothing left to release")
        let again = try await store.claimBatch(queue: "q", worker: "w", limit: 5, lease: .seconds(300))
        #expect(again.map(\.key) == ["k0", "k1", "k2"] && again.allSatisfy { $0.attempt == 2 })
        #expect(try await store.claimHolders(queue: "other") == [lost], "other queues untouched")
        #expect(try await store.releaseClaims(queue: nil, worker: lost) == 1)
        let me = WorkerIdentity.current
        #expect(WorkerIdentity(name: me.description) == me && !me.isKnownDead)
        #expect(WorkerIdentity(name: "a-b-c-d") == nil && WorkerIdentity(name: "worker-0") == nil)
        let elsewhere = WorkerIdentity(host: me.host, pid: 1, started: 1, namespace: me.namespace &+ 1)
        #expect(!elsewhere.isKnownDead, "another PID namespace (another container) is never judged from here")
    }

    @Test(arguments: ManifestKind.available)
    func finishedWorkIsPrunedAndIngestKeepsWhatItIngested(_ kind: ManifestKind) async throws {
        let scratch = try await ScratchManifest.make(kind, maxAttempts: 1)
        defer { scratch.dir.remove() }
        let store = scratch.store
        func settle() async throws { try await Task.sleep(for: .milliseconds(20)) }
        // A finished queue, a queue still open (one dead item), and ingest's versioned queue.
        let done = "normalize/v1/abc", open = "normalize/v2/def", ingest = "ingest/images"
        try await store.enqueue(queue: done, items: (0..<3).map { ("raw/\($0).jpg", "{}") })
        let doneClaims = try await store.claimBatch(queue: done, worker: "w", limit: 3, lease: .seconds(60))
        try await store.complete(queue: done, worker: "w", keys: doneClaims.map(\.key))
        try await store.enqueue(queue: open, items: [("a", "{}"), ("b", "{}"), ("c", "{}"), ("d", "{}")])
        let openClaims = try await store.claimBatch(queue: open, worker: "w", limit: 3, lease: .seconds(60))
        try await store.complete(queue: open, worker: "w", keys: ["a", "b"])
        try await store.fail(queue: open, worker: "w", failures: [("c", "decode: not a JPEG")])
        #expect(openClaims.map(\.key) == ["a", "b", "c"])
        // raw/x@y.jpg has an @ of its own: the object is everything before the last @.
        try await store.enqueue(queue: ingest, items: [("raw/a.jpg@e1", "{}"), ("raw/x@y.jpg@e7", "{}")])
        try await store.complete(
            queue: ingest, worker: "w",
            keys: try await store.claimBatch(queue: ingest, worker: "w", limit: 9, lease: .seconds(60)).map(\.key))
        try await settle()
        try await store.enqueue(
            queue: ingest, items: [("raw/a.jpg@e2", "{}"), ("raw/b.jpg@e3", "{}"), ("raw/d.jpg@e6", "{}")])
        let ingestClaims = try await store.claimBatch(queue: ingest, worker: "w", limit: 9, lease: .seconds(60))
        try await store.complete(queue: ingest, worker: "w", keys: ["raw/a.jpg@e2", "raw/b.jpg@e3"])
        try await store.fail(queue: ingest, worker: "w", failures: [("raw/d.jpg@e6", "timed out")])
        #expect(ingestClaims.count == 3)
        try await settle()

        let summaries = try await store.queueSummaries(queue: nil)
        #expect(summaries.map(\.queue) == [ingest, done, open])
        let openSummary = try #require(summaries.last)
        #expect(openSummary.counts == [.available: 1, .claimed: 0, .completed: 2, .dead: 1])
        #expect(openSummary.oldestAvailable != nil && !openSummary.isFinished)
        #expect(summaries[1].isFinished && summaries[1].counts[.completed] == 3 && summaries[1].lastFinished != nil)
        let dead = try await store.deadWork(queue: open, limit: 5)
        #expect(dead.map(\.key) == ["c"] && dead.first?.lastError == "decode: not a JPEG")
        #expect(dead.first?.attempts == 1 && dead.first?.diedAt.map { abs($0.timeIntervalSinceNow) < 60 } == true)
        let claimed = try await store.claimBatch(queue: open, worker: "holder", limit: 1, lease: .seconds(60))
        let held = try #require(try await store.queueSummaries(queue: open).first?.oldestClaim)
        #expect(held.worker == "holder" && held.key == claimed.first?.key && held.attempt == 1)
        #expect(held.claimedAt.map { abs($0.timeIntervalSinceNow) < 60 } == true)

        // A cutoff in the past prunes nothing.
        #expect(try await store.pruneWork(.olderThan(.seconds(3600))) == WorkPruneReport())
        let report = try await store.pruneWork(WorkPrunePolicy(cutoff: Date().addingTimeInterval(60)))
        // The finished queue whole (3), the open queue's dead item, ingest's dead item and the
        // superseded raw/a.jpg@e1.
        #expect(report == WorkPruneReport(queues: 1, completed: 4, dead: 2))
        let after = try await store.queueSummaries(queue: nil)
        #expect(after.map(\.queue) == [ingest, open])
        #expect(after.last?.counts == [.available: 0, .claimed: 1, .completed: 2, .dead: 0], "open work is kept")
        #expect(after.first?.counts == [.available: 0, .claimed: 0, .completed: 3, .dead: 0])
        // Ingest's memory: the newest completed version of each object is still known, so a poll
        // does not queue it again; the superseded version and the dead one are queued anew.
        #expect(try await store.enqueue(queue: ingest, items: [("raw/a.jpg@e2", "{}"), ("raw/x@y.jpg@e7", "{}")]) == 0)
        #expect(try await store.enqueue(queue: ingest, items: [("raw/a.jpg@e1", "{}"), ("raw/d.jpg@e6", "{}")]) == 2)
        #expect(try await store.pruneWork(WorkPrunePolicy(cutoff: Date().addingTimeInterval(60), queue: done)) == WorkPruneReport())
    }

    @Test(arguments: ManifestKind.available)
    func removedObjectsLeaveTheDraftWithTheirCopiesAndAreRecorded(_ kind: ManifestKind) async throws {
        let scratch = try await ScratchManifest.make(kind)
        defer { scratch.dir.remove() }
        let store = scratch.store
        func item(_ key: String) -> DatasetItem { DatasetItem(sourceKey: key, sha256: "s", size: 1) }
        let draft = try await store.createDraft(name: "d", stage: "ingest", parents: [], configHash: "h", config: "{}")
        // raw/a.jpg with two augmented copies; raw/a.jpgx and raw/a.jpg#augment are other objects.
        try await store.addItems(
            ["raw/a.jpg", "raw/a.jpg#aug0", "raw/a.jpg#aug1", "raw/a.jpgx", "raw/b.jpg", "raw/a.jpg#au"].map(item),
            to: draft.id)
        #expect(
            try await store.removeItems(sourceKeys: ["raw/a.jpg", "raw/none.jpg"], reason: "deleted", from: draft.id) == 3)
        #expect(try await store.removeItems(sourceKeys: ["raw/a.jpg"], reason: "deleted", from: draft.id) == 0)
        let left = try await store.items(of: draft.id, after: nil, limit: 10).map(\.sourceKey)
        #expect(left == ["raw/a.jpg#au", "raw/a.jpgx", "raw/b.jpg"])
        #expect(try await store.removedItems(of: draft.id) == [RemovedItem(sourceKey: "raw/a.jpg", reason: "deleted")])
        let published = try await store.publish(draft: draft.id, as: "ingest-r1", contentDigest: "c", manifestURI: "m")
        #expect(try await store.removedItems(of: published.id).map(\.sourceKey) == ["raw/a.jpg"])
        await #expect(throws: ManifestStoreError.self) {
            try await store.removeItems(sourceKeys: ["raw/b.jpg"], reason: "x", from: published.id)
        }
        let discarded = try await store.createDraft(name: "d", stage: "ingest", parents: [], configHash: "h", config: "{}")
        try await store.addItems([item("raw/c.jpg")], to: discarded.id)
        try await store.removeItems(sourceKeys: ["raw/c.jpg"], reason: "deleted", from: discarded.id)
        try await store.discardDraft(discarded.id)
        #expect(try await store.removedItems(of: discarded.id).isEmpty)

        // Forgetting an object's completed versions leaves other objects (an @ in a key too) alone.
        let queue = "ingest/d"
        let keys = ["raw/a.jpg@e1", "raw/a.jpg@e2", "raw/a.jpg@x@e3", "raw/a.jpgx@e4", "raw/b.jpg@e5", "raw/a.jpg@open"]
        try await store.enqueue(queue: queue, items: keys.map { ($0, "{}") })
        let claimed = try await store.claimBatch(queue: queue, worker: "w", limit: 10, lease: .seconds(60))
        try await store.complete(queue: queue, worker: "w", keys: claimed.map(\.key).filter { $0 != "raw/a.jpg@open" })
        #expect(try await store.forgetCompleted(queue: queue, object: "raw/a.jpg") == 2)
        #expect(try await store.enqueue(queue: queue, items: keys.map { ($0, "{}") }) == 2, "only a.jpg's two versions")
    }

    @Test(arguments: ManifestKind.available)
    func itemsGivenBackForAnOutageKeepTheirAttempts(_ kind: ManifestKind) async throws {
        let scratch = try await ScratchManifest.make(kind, maxAttempts: 2)
        defer { scratch.dir.remove() }
        let store = scratch.store
        try await store.enqueue(queue: "q", items: [("a", "{}"), ("b", "{}")])
        // Ten rounds of an outage: given back each time, never dead.
        for _ in 0..<10 {
            let claims = try await store.claimBatch(queue: "q", worker: "w", limit: 2, lease: .seconds(60))
            #expect(claims.count == 2 && claims.allSatisfy { $0.attempt == 1 })
            try await store.giveBack(
                queue: "q", worker: "w", failures: claims.map { ($0.key, "could not connect to the S3 endpoint") })
        }
        #expect(try await store.queueCounts(queue: "q") == [.available: 2, .claimed: 0, .completed: 0, .dead: 0])
        // An item's own failures still count: two attempts, then dead.
        for _ in 0..<2 {
            let claims = try await store.claimBatch(queue: "q", worker: "w", limit: 1, lease: .seconds(60))
            try await store.fail(queue: "q", worker: "w", failures: claims.map { ($0.key, "not an image") })
        }
        #expect(try await store.queueCounts(queue: "q")[.dead] == 1)
        // A worker that no longer holds an item cannot give it back.
        let claimed = try await store.claimBatch(queue: "q", worker: "w", limit: 1, lease: .seconds(60))
        try await store.giveBack(queue: "q", worker: "other", failures: claimed.map { ($0.key, "x") })
        #expect(try await store.queueCounts(queue: "q")[.claimed] == 1)
        #expect(
            Outage.isOutage(
                ObjectStoreError(kind: .transport, operation: "GetObject", location: "s3://b/k", message: "refused")))
        #expect(
            Outage.isOutage(
                ObjectStoreError(kind: .service, operation: "PutObject", location: "s3://b/k", message: "", status: 503)))
        #expect(
            !Outage.isOutage(
                ObjectStoreError(kind: .accessDenied, operation: "GetObject", location: "s3://b/k", message: "no")))
    }

    @Test(arguments: ManifestKind.available)
    func draftsPublishAndBecomeImmutable(_ kind: ManifestKind) async throws {
        let scratch = try await ScratchManifest.make(kind)
        defer { scratch.dir.remove() }
        let store = scratch.store
        let draft = try await store.createDraft(
            name: "pets", stage: "ingest", parents: [], configHash: "c1", config: "{}")
        #expect(draft.status == .draft)
        try await store.addItems([Self.item], to: draft.id)
        // Re-adding a key replaces it.
        try await store.addItems(
            [DatasetItem(sourceKey: "raw/cat.jpg", sha256: String(repeating: "b", count: 64), size: 99)], to: draft.id)
        try await store.addItems(
            [
                Self.item,
                DatasetItem(sourceKey: "raw/bad.jpg", sha256: "", size: 0, status: .rejected, reason: "zero bytes"),
            ], to: draft.id)
        #expect(try await store.version(draft.id)?.itemCount == 2)

        let published = try await store.publish(
            draft: draft.id, as: "ingest-abc", contentDigest: "d1", manifestURI: "file:///m.json")
        #expect(published.id == "ingest-abc")
        #expect(published.status == .published)
        #expect(published.itemCount == 2)
        #expect(published.publishedAt != nil)
        #expect(try await store.version(draft.id) == nil, "the draft id is gone")
        let items = try await store.items(of: "ingest-abc", after: nil, limit: 10)
        #expect(items.map(\.sourceKey) == ["raw/bad.jpg", "raw/cat.jpg"])
        #expect(items[1] == Self.item)
        #expect(items[0].reason == "zero bytes")

        await #expect {
            try await store.addItems([Self.item], to: "ingest-abc")
        } throws: { error in
            (error as? ManifestStoreError)?.kind == .immutable && "\(error)".contains("immutable")
        }
        await #expect(throws: (any Error).self) { try await store.discardDraft("ingest-abc") }

        // The same content published again returns the existing version, not a duplicate.
        let again = try await store.createDraft(
            name: "pets", stage: "ingest", parents: [], configHash: "c1", config: "{}")
        try await store.addItems([Self.item], to: again.id)
        let republished = try await store.publish(
            draft: again.id, as: "ingest-abc", contentDigest: "d1", manifestURI: "file:///m.json")
        #expect(republished == published)
        #expect(try await store.version(again.id) == nil)
        #expect(try await store.versions(name: "pets", stage: nil, limit: 10).map(\.id) == ["ingest-abc"])
    }

    @Test(arguments: ManifestKind.available)
    func hostileValuesRoundTripUnchanged(_ kind: ManifestKind) async throws {
        let scratch = try await ScratchManifest.make(kind)
        defer { scratch.dir.remove() }
        let store = scratch.store
        let hostile = [
            "it's \"quoted\"", #"back\slash\\"#, "nul\u{0}inside", "ünïcødé/日本/🖼.jpg", "'); DROP TABLE items; --",
            "tab\there\nnewline\rcr", "$1 ?1 %s", "comma,separated",
        ]
        let draft = try await store.createDraft(
            name: "hostile'; --", stage: "ingest", parents: [], configHash: "h", config: #"{"q":"'\""}"#)
        let items = hostile.map { key in
            DatasetItem(
                sourceKey: key, sha256: "00", size: 1, format: key.replacingOccurrences(of: "\u{0}", with: ""),
                annotations: ManifestJSON.string([["label": key]]), reason: nil)
        }
        try await store.addItems(items, to: draft.id)
        let back = try await store.items(of: draft.id, after: nil, limit: 100)
        #expect(back.map(\.sourceKey) == hostile.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
        for item in back {
            let original = items.first { $0.sourceKey == item.sourceKey }
            #expect(item == original, "\(item.sourceKey.debugDescription)")
        }
        #expect(try await store.version(draft.id)?.name == "hostile'; --")
        for key in hostile {
            try await store.setCheckpoint(stage: "ingest", name: "cursor", value: key)
            #expect(try await store.checkpoint(stage: "ingest", name: "cursor") == key)
        }
        #expect(try await store.enqueue(queue: "q'", items: hostile.map { ($0, "p") }) == hostile.count)
        let claimed = try await store.claimBatch(queue: "q'", worker: "w", limit: 100, lease: .seconds(30))
        #expect(Set(claimed.map(\.key)) == Set(hostile))
        #expect(Set(try await store.complete(queue: "q'", worker: "w", keys: hostile)) == Set(hostile))
        await #expect(throws: ManifestStoreError.self) {
            try await store.addItems(
                [DatasetItem(sourceKey: "k", sha256: "x", size: 1, reason: "nul\u{0}")], to: draft.id)
        }
    }

    @Test(arguments: ManifestKind.available)
    func pagingCheckpointsAndLineage(_ kind: ManifestKind) async throws {
        let scratch = try await ScratchManifest.make(kind)
        defer { scratch.dir.remove() }
        let store = scratch.store
        let raw = try await store.createDraft(name: "pets", stage: "ingest", parents: [], configHash: "a", config: "{}")
        try await store.addItems(
            (0..<25).map { DatasetItem(sourceKey: String(format: "k%03d", $0), sha256: "s", size: 1) }, to: raw.id)
        var keys: [String] = []
        var after: String?
        repeat {
            let page = try await store.items(of: raw.id, after: after, limit: 10)
            keys += page.map(\.sourceKey)
            after = page.count == 10 ? page.last?.sourceKey : nil
        } while after != nil
        #expect(keys == (0..<25).map { String(format: "k%03d", $0) })
        let ingest = try await store.publish(draft: raw.id, as: "ingest-1", contentDigest: "x", manifestURI: "u")
        let normalizeDraft = try await store.createDraft(
            name: "pets", stage: "normalize", parents: [ingest.id], configHash: "b", config: "{}")
        let normalized = try await store.publish(
            draft: normalizeDraft.id, as: "normalize-1", contentDigest: "y", manifestURI: "u")
        let otherDraft = try await store.createDraft(
            name: "extra", stage: "ingest", parents: [], configHash: "c", config: "{}")
        let other = try await store.publish(draft: otherDraft.id, as: "ingest-2", contentDigest: "z", manifestURI: "u")
        let trainDraft = try await store.createDraft(
            name: "pets", stage: "train", parents: [normalized.id, other.id], configHash: "d", config: "{}")
        #expect(trainDraft.parents == ["normalize-1", "ingest-2"])

        let lineage = try await store.lineage(of: trainDraft.id)
        #expect(lineage.ancestors.map(\.version.id) == ["ingest-2", "normalize-1", "ingest-1"])
        #expect(lineage.ancestors.map(\.depth) == [1, 1, 2])
        let down = try await store.lineage(of: "ingest-1")
        #expect(down.descendants.map(\.version.id) == ["normalize-1", trainDraft.id])
        await #expect(throws: ManifestStoreError.self) {
            _ = try await store.createDraft(name: "x", stage: "s", parents: ["no-such"], configHash: "", config: "")
        }
        #expect(try await store.checkpoint(stage: "ingest", name: "none") == nil)
        try await store.setCheckpoint(stage: "ingest", name: "cursor", value: "raw/b.jpg")
        try await store.setCheckpoint(stage: "ingest", name: "cursor", value: "raw/c.jpg")
        #expect(try await store.checkpoint(stage: "ingest", name: "cursor") == "raw/c.jpg")
    }

    @Test(arguments: ManifestKind.available)
    func checkpointsChangeOnlyFromTheExpectedValueAndDraftsCopyTheirParent(_ kind: ManifestKind) async throws {
        let scratch = try await ScratchManifest.make(kind)
        defer { scratch.dir.remove() }
        let store = scratch.store
        // Of N racers creating the same checkpoint, exactly one wins; then only the holder of
        // the current value moves it on.
        let wins = try await concurrentMap(count: 8, limit: 8) { index in
            try await store.replaceCheckpoint(stage: "ingest", name: "draft", expected: nil, value: "open \(index)")
        }
        #expect(wins.filter { $0 }.count == 1)
        let holder = try #require(try await store.checkpoint(stage: "ingest", name: "draft"))
        #expect(holder == "open \(try #require(wins.firstIndex(of: true)))")
        #expect(
            try await store.replaceCheckpoint(stage: "ingest", name: "draft", expected: "stale", value: "x") == false)
        #expect(try await store.replaceCheckpoint(stage: "ingest", name: "draft", expected: holder, value: "closed"))
        #expect(try await store.checkpoint(stage: "ingest", name: "draft") == "closed")

        let parent = try await store.createDraft(name: "d", stage: "ingest", parents: [], configHash: "", config: "")
        try await store.addItems(
            (0..<5).map { DatasetItem(sourceKey: "k\($0)", sha256: "old", size: 1) }, to: parent.id)
        let published = try await store.publish(draft: parent.id, as: "ingest-p", contentDigest: "c", manifestURI: "u")
        let child = try await store.createDraft(
            name: "d", stage: "ingest", parents: [published.id], configHash: "", config: "")
        try await store.addItems([DatasetItem(sourceKey: "k1", sha256: "new", size: 2)], to: child.id)
        #expect(try await store.copyItems(from: published.id, to: child.id) == 4)
        let items = try await store.items(of: child.id, after: nil, limit: 100)
        #expect(items.map(\.sourceKey) == ["k0", "k1", "k2", "k3", "k4"])
        #expect(items[1].sha256 == "new", "what the draft had already is kept")
        await #expect(throws: ManifestStoreError.self) {
            try await store.copyItems(from: child.id, to: published.id)
        }
    }

    @Test(arguments: ManifestKind.available)
    func workClaimsLeasesAttemptsAndDeadLetters(_ kind: ManifestKind) async throws {
        let scratch = try await ScratchManifest.make(kind, maxAttempts: 2)
        defer { scratch.dir.remove() }
        let store = scratch.store
        #expect(
            try await store.enqueue(queue: "normalize", items: (0..<10).map { ("item-\($0)", "{\"n\":\($0)}") }) == 10)
        #expect(
            try await store.enqueue(queue: "normalize", items: [("item-0", "again")]) == 0, "duplicates are ignored")

        let first = try await store.claimBatch(queue: "normalize", worker: "a", limit: 4, lease: .seconds(60))
        // b's lease is short, but it must outlast the checks below on a loaded machine (2 s once did not).
        let bLease = Duration.seconds(10)
        let second = try await store.claimBatch(queue: "normalize", worker: "b", limit: 100, lease: bLease)
        // The lease began inside the claim, so it has surely run out `bLease` after the claim returned.
        let bClaimed = ContinuousClock.now
        #expect(first.count == 4)
        #expect(second.count == 6)
        #expect(Set(first.map(\.key)).isDisjoint(with: second.map(\.key)))
        #expect(first.allSatisfy { $0.attempt == 1 })
        #expect(try await store.claimBatch(queue: "normalize", worker: "c", limit: 100, lease: .seconds(60)).isEmpty)

        // Only the holder can complete; the rest fail back to the queue.
        #expect(try await store.complete(queue: "normalize", worker: "b", keys: first.map(\.key)).isEmpty)
        #expect(
            try await store.complete(queue: "normalize", worker: "a", keys: Array(first.map(\.key).prefix(3))).count
                == 3)
        try await store.fail(queue: "normalize", worker: "a", failures: [(first[3].key, "decode error")])
        let retried = try await store.claimBatch(queue: "normalize", worker: "c", limit: 1, lease: .seconds(60))
        #expect(retried.map(\.key) == [first[3].key])
        #expect(retried.first?.attempt == 2)
        try await store.fail(queue: "normalize", worker: "c", failures: [(first[3].key, "decode error again")])

        // Worker b "dies": its lease expires and its items come back.
        try await Task.sleep(until: bClaimed + bLease + .milliseconds(300))
        let recovered = try await store.claimBatch(queue: "normalize", worker: "d", limit: 100, lease: .seconds(60))
        #expect(Set(recovered.map(\.key)) == Set(second.map(\.key)))
        #expect(recovered.allSatisfy { $0.attempt == 2 })
        #expect(
            try await store.complete(queue: "normalize", worker: "b", keys: second.map(\.key)).isEmpty,
            "b lost its claims")
        #expect(try await store.complete(queue: "normalize", worker: "d", keys: recovered.map(\.key)).count == 6)

        let counts = try await store.queueCounts(queue: "normalize")
        #expect(counts[.completed] == 9)
        #expect(counts[.dead] == 1)
        #expect(counts[.available] == 0)
        #expect(counts[.claimed] == 0)
    }
}
