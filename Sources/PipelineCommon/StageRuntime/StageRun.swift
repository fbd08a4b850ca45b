import Foundation
import Logging
import Metrics

/// What one claimed work item became, as a stage's batch transform reports it.
public enum WorkOutcome<Detail: Sendable>: Sendable {
    /// Done: `items` go into the draft (none for a claim that makes no item) and the claim is
    /// completed. `detail` is the stage's own account of it, for its report.
    case done(items: [DatasetItem], detail: Detail)
    /// The object behind the claim is gone: the items of `sourceKey` leave the draft with
    /// `reason`, and the queue forgets that the object was done, so the same bytes uploaded
    /// again are new work.
    case removed(sourceKey: String, reason: String)
    /// Failed: back to the queue with one attempt used (dead after the last).
    case failed(String)
    /// A service the item needs was unreachable (see ``Outage``): back to the queue without
    /// using up an attempt, and the run waits the outage out.
    case outage(String)
}

/// A batch after ``StageRun/drain(stagingBytes:transform:recorded:)`` recorded it.
public struct RecordedBatch<Detail: Sendable>: Sendable {
    public let claims: [ClaimedWork]
    /// One a claim, in the claims' order.
    public let outcomes: [WorkOutcome<Detail>]
    /// False when recording the items failed: the whole batch went back to the queue and
    /// nothing of it counts (it is redone).
    public let recorded: Bool
    /// Claims handed back to the queue (failures and outages, or all when not recorded).
    public let failures: Int
    /// Removals that took an item out of the draft.
    public let removed: Int
    /// Items left unclaimed in the queue when this batch was claimed.
    public let remaining: Int

    /// The details of the claims that were done, when the batch was recorded.
    public var done: [Detail] {
        guard recorded else { return [] }
        return outcomes.compactMap { if case .done(_, let detail) = $0 { detail } else { nil } }
    }
}

/// One stage's work cycle, written once for every stage: the shared draft, draining the work
/// queue in claimed batches (with leases, so a killed worker's claims come back), a staging
/// directory per batch with its space checked first, recording each batch in one transaction,
/// publishing once the queue is idle (after the claims in flight are recorded, with the
/// checkpoint that seeds the next draft set in the publishing transaction), the failure and
/// publication metrics, and graceful shutdown (on SIGTERM the batch in hand is recorded and no
/// other is claimed; see ``SharedDraft/drain(queue:worker:batchSize:outageLimit:work:settle:settled:)``).
///
/// A stage supplies its identity (what makes its output version: ``Identity``) and its
/// per-batch transform; ingest, normalize and infer batch are such stages.
public struct StageRun: Sendable {
    /// What a stage's output versions are and what decides their content.
    public struct Identity: Sendable {
        /// The stage (`ingest`, `normalize`, `infer`): the versions' stage and the checkpoints' scope.
        public var stage: String
        /// The name of the versions (the dataset).
        public var dataset: String
        /// What one run of work is about: its drafts and work queue are named by it.
        public var scope: String
        /// The work queue (by default `<stage>/<scope>`).
        public var queue: String
        /// The versions the output is made from.
        public var parents: [String]
        /// Whether a new draft starts with the items of the last version published (ingest's
        /// continuous dataset) or empty (one output per input).
        public var seedFromLastPublished: Bool
        /// The configuration that decides the content, as text and its hash.
        public var configHash: String
        public var config: String

        public init(
            stage: String, dataset: String, scope: String, queue: String? = nil, parents: [String] = [],
            seedFromLastPublished: Bool = false, configHash: String, config: String
        ) {
            self.stage = stage
            self.dataset = dataset
            self.scope = scope
            self.queue = queue ?? "\(stage)/\(scope)"
            self.parents = parents
            self.seedFromLastPublished = seedFromLastPublished
            self.configHash = configHash
            self.config = config
        }
    }

    public let identity: Identity
    public let manifests: any ManifestStore
    public let objects: any ObjectStore
    public let staging: StagingArea
    public let drafts: SharedDraft
    public let worker: String
    public let batchSize: Int
    /// How long a claim or a publisher is trusted before its work is taken back.
    public let lease: Duration
    /// Where the manifest files go: `<filesPrefix><dataset>/<version>/`.
    public let filesPrefix: String
    let housekeeper: WorkHousekeeper
    let logger: Logger

    public var queue: String { identity.queue }
    public var stage: String { identity.stage }

    public init(
        _ identity: Identity, configuration: PipelineConfiguration, objects: any ObjectStore,
        manifests: any ManifestStore, batchSize: Int, lease: Duration, logger: Logger,
        worker: String = WorkerIdentity.current.description
    ) {
        self.identity = identity
        self.manifests = manifests
        self.objects = objects
        self.staging = StagingArea(configuration.staging, logger: logger)
        self.drafts = SharedDraft(
            store: manifests, stage: identity.stage, dataset: identity.dataset, scope: identity.scope,
            parents: identity.parents, seedFromLastPublished: identity.seedFromLastPublished,
            configHash: identity.configHash, config: identity.config, lease: lease)
        self.worker = worker
        self.batchSize = batchSize
        self.lease = lease
        self.filesPrefix = configuration.manifest.filesPrefix
        self.housekeeper = WorkHousekeeper(store: manifests, retention: configuration.manifest.workRetention)
        self.logger = logger
    }

    // MARK: - Queueing

    /// Queues `items` by source key with the item as payload; items queued before are left as
    /// they are. Returns how many were new.
    @discardableResult
    public func enqueue(_ items: [DatasetItem]) async throws -> Int {
        var queued = 0
        let encoder = JSONEncoder()
        for start in stride(from: 0, to: items.count, by: 1000) {
            let page = items[start..<min(items.count, start + 1000)]
            queued += try await manifests.enqueue(
                queue: queue,
                items: page.map { ($0.sourceKey, String(decoding: (try? encoder.encode($0)) ?? Data(), as: UTF8.self)) })
        }
        return queued
    }

    /// The item a claim queued with ``enqueue(_:)`` carries.
    public static func item(of claim: ClaimedWork) -> DatasetItem? {
        try? JSONDecoder().decode(DatasetItem.self, from: Data(claim.payload.utf8))
    }

    /// Items neither available nor claimed, nor dead: what the queue holds now.
    public func counts() async throws -> [WorkState: Int] {
        try await manifests.queueCounts(queue: queue)
    }

    // MARK: - Working

    /// Claims and works the queue in batches until nothing is left to claim or held.
    ///
    /// For each batch: a staging run is made, `stagingBytes` of room is checked in it (a full
    /// staging root gives the batch back whole, no attempt used, and the run waits for space as
    /// it waits out an outage), `transform` turns the claims into one outcome each, the objects
    /// it put unsynced (``ObjectStore/putUnsynced(_:)``) are synced once, the items are recorded
    /// in the draft and the claims completed in one transaction (or the batch goes back whole),
    /// removals applied, the staging run removed, and `recorded` told. Everything after the
    /// transform happens while the next batch is claimed and transformed.
    public func drain<Detail: Sendable>(
        stagingBytes: ([ClaimedWork]) -> UInt64 = { _ in 0 },
        transform: ([ClaimedWork], _ draft: String, StagingRun) async throws -> [WorkOutcome<Detail>],
        recorded: (RecordedBatch<Detail>) -> Void = { _ in }
    ) async throws {
        // A batch is worked (staged, transformed), then its objects synced, the batch recorded and
        // its staging removed while the next one is worked.
        typealias Worked = (
            claims: [ClaimedWork], outcomes: [WorkOutcome<Detail>], draft: String, remaining: Int, run: StagingRun?
        )
        try await drafts.drain(
            queue: queue, worker: worker, batchSize: batchSize,
            work: { claims, draft, remaining -> Worked in
                let run = try staging.makeRun(stage: stage, runId: "\(worker)-\(UUID().uuidString.lowercased())")
                do {
                    try run.ensureSpace(for: stagingBytes(claims))
                } catch {
                    logger.warning(
                        "staging has no room for the batch; it goes back to the queue",
                        metadata: ["items": "\(claims.count)", "error": "\(error)"])
                    await run.finish(succeeded: true)
                    return (claims, claims.map { _ in .outage("\(error)") }, draft, remaining, nil)
                }
                let outcomes: [WorkOutcome<Detail>]
                do {
                    outcomes = try await transform(claims, draft, run)
                } catch {
                    await run.finish(succeeded: false)
                    throw error
                }
                guard outcomes.count == claims.count else {
                    await run.finish(succeeded: false)
                    throw ManifestStoreError(
                        .invalid, "the \(stage) stage made \(outcomes.count) outcomes of \(claims.count) claims")
                }
                return (claims, outcomes, draft, remaining, run)
            },
            settle: { [self] worked in
                let batch = try await record(
                    worked.claims, await synced(worked.outcomes), into: worked.draft, remaining: worked.remaining)
                await worked.run?.finish(succeeded: batch.failures == 0)
                return batch
            },
            settled: { batch in
                recorded(batch)
                return batch.failures
            })
    }

    /// `outcomes` once the objects their transform put unsynced (``ObjectStore/putUnsynced(_:)``)
    /// are durable: one ``ObjectStore/sync()`` for the batch; when it fails, what was done goes
    /// back to the queue as failed, since nothing of it is promised to be on disk.
    private func synced<Detail>(_ outcomes: [WorkOutcome<Detail>]) async -> [WorkOutcome<Detail>] {
        guard outcomes.contains(where: { if case .done = $0 { true } else { false } }) else { return outcomes }
        do {
            var phases = PhaseTimes(stage: stage)
            try await objects.sync()
            phases.lap("sync")
            phases.record(logger, key: "batch of \(outcomes.count)")
            return outcomes
        } catch {
            logger.error(
                "the store could not be synced; the batch goes back to the queue", metadata: ["error": "\(error)"])
            return outcomes.map {
                if case .done = $0 { .failed("syncing the store after the batch: \(error)") } else { $0 }
            }
        }
    }

    private func record<Detail>(
        _ claims: [ClaimedWork], _ outcomes: [WorkOutcome<Detail>], into draft: String, remaining: Int
    ) async throws -> RecordedBatch<Detail> {
        var items: [DatasetItem] = []
        var done: [String] = []
        var failed: [(key: String, error: String)] = []
        var outages: [(key: String, error: String)] = []
        var removals: [(claim: String, sourceKey: String, reason: String)] = []
        for (claim, outcome) in zip(claims, outcomes) {
            switch outcome {
            case .done(let made, _):
                items += made
                done.append(claim.key)
            case .removed(let sourceKey, let reason): removals.append((claim.key, sourceKey, reason))
            case .failed(let error): failed.append((claim.key, error))
            case .outage(let error): outages.append((claim.key, error))
            }
        }
        var phases = PhaseTimes(stage: stage)
        let (failures, recorded) = try await manifests.recordBatch(
            items: items, into: draft, queue: queue, worker: worker, done: done, failed: failed, outages: outages)
        let removal = try await remove(removals, from: draft)
        phases.lap("record")
        phases.record(logger, key: "batch of \(claims.count)")
        let failureCount = failures.count + removal.failures
        Counter(label: "pipeline_\(stage)_failures_total").increment(by: failureCount)
        return RecordedBatch(
            claims: claims, outcomes: outcomes, recorded: recorded, failures: failureCount, removed: removal.removed,
            remaining: remaining)
    }

    /// Takes the items of gone objects out of the draft, each in its own transaction, and
    /// makes the queue forget that they were done.
    private func remove(_ removals: [(claim: String, sourceKey: String, reason: String)], from draft: String)
        async throws -> (removed: Int, failures: Int)
    {
        guard !removals.isEmpty else { return (0, 0) }
        var done: [String] = []
        var failed: [(key: String, error: String)] = []
        var removed = 0
        for (position, removal) in removals.enumerated() {
            do {
                let count = try await manifests.removeItems(
                    sourceKeys: [removal.sourceKey], reason: removal.reason, from: draft)
                try await manifests.forgetCompleted(queue: queue, object: removal.sourceKey)
                if count > 0 {
                    removed += 1
                    logger.info("removed", metadata: ["key": "\(removal.sourceKey)", "items": "\(count)"])
                }
                done.append(removal.claim)
            } catch {
                failed += removals[position...].map {
                    ($0.claim, "removing \($0.sourceKey) from the draft failed: \(error)")
                }
                break
            }
        }
        try await manifests.complete(queue: queue, worker: worker, keys: done)
        if !failed.isEmpty { try await manifests.fail(queue: queue, worker: worker, failures: failed) }
        return (removed, failed.count)
    }

    // MARK: - Publishing

    /// Publishes the open draft once nothing is queued or claimed: as rows in the manifest
    /// store and as manifest files under `<filesPrefix><dataset>/<version>/`. Claims taken
    /// before the draft closed are waited for (up to the lease) so that their items are in it.
    /// Returns nil when there is nothing to publish, work is left, or another process publishes.
    public func publishIfIdle() async throws -> DatasetVersion? {
        guard case .open(let id) = try await drafts.state().state else { return nil }
        let counts = try await counts()
        guard (counts[.available] ?? 0) == 0, (counts[.claimed] ?? 0) == 0 else { return nil }
        guard try await drafts.beginPublishing(id) else { return nil }
        do {
            // Workers that took the draft before it closed finish their batch first.
            let clock = ContinuousClock()
            let deadline = clock.now.advanced(by: lease)
            while try await (self.counts()[.claimed] ?? 0) > 0, clock.now < deadline {
                try await Task.sleep(for: .milliseconds(100))
            }
            guard let draft = try await manifests.version(id) else {
                throw ManifestStoreError(.notFound, "draft \(id) of \(identity.dataset) vanished")
            }
            let publisher = ManifestPublisher(store: manifests, objects: objects, logger: logger)
            let version = try await staging.withRun(
                stage: stage, runId: "publish-\(UUID().uuidString.lowercased())"
            ) { run in
                try await publisher.publish(
                    draft, prefix: filesPrefix + draft.name + "/", workDirectory: run.outputDirectory,
                    recording: drafts.publishedCheckpoint)
            }
            try await drafts.endPublishing(id, published: version.id)
            Counter(label: "pipeline_\(stage)_versions_published_total").increment()
            logger.info(
                "published",
                metadata: [
                    "stage": "\(stage)", "version": "\(version.id)", "items": "\(version.itemCount)",
                    "manifest": "\(version.manifestURI ?? "")",
                ])
            return version
        } catch {
            try? await drafts.abandonPublishing(id)
            throw error
        }
    }

    /// The version last published in this scope, if any.
    public func lastPublished() async throws -> DatasetVersion? {
        guard let id = try await drafts.lastPublished() else { return nil }
        return try await manifests.version(id)
    }

    /// Prunes finished work items past `manifest.work_retention_hours` (at most hourly).
    public func pruneFinishedWork() async {
        await housekeeper.pruneIfDue(logger: logger)
    }
}
