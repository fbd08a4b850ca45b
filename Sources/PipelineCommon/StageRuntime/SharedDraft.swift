import Foundation
import ServiceLifecycle

/// The one open draft that every worker of a stage, on any machine, adds items to, and its
/// hand-over to publishing, coordinated through a checkpoint that only changes from the
/// value a process last saw (``ManifestStore/replaceCheckpoint(stage:name:expected:value:)``).
///
/// - `open <id>`: workers add items to draft `<id>`.
/// - `publishing <id> <unix time>`: one process publishes `<id>`; workers wait for it
///   (a publisher silent for longer than the lease is presumed dead and its draft reopened).
/// - absent or empty: the next worker creates a draft, seeded with the items of the last
///   version published through this coordinator when `seedFromLastPublished`.
public struct SharedDraft: Sendable {
    public enum State: Sendable, Equatable {
        case none
        case open(String)
        case publishing(String, since: Double)
    }

    public let store: any ManifestStore
    public let stage: String
    /// What the drafts are versions of (the dataset name).
    public let dataset: String
    /// Names this coordinator's checkpoints: the dataset for ingest, input and configuration for normalize.
    public let scope: String
    public let parents: [String]
    public let seedFromLastPublished: Bool
    public let configHash: String
    public let config: String
    public let lease: Duration

    public init(
        store: any ManifestStore, stage: String, dataset: String, scope: String, parents: [String] = [],
        seedFromLastPublished: Bool, configHash: String, config: String, lease: Duration
    ) {
        self.store = store
        self.stage = stage
        self.dataset = dataset
        self.scope = scope
        self.parents = parents
        self.seedFromLastPublished = seedFromLastPublished
        self.configHash = configHash
        self.config = config
        self.lease = lease
    }

    private var draftName: String { "draft/" + scope }
    private var publishedName: String { "published/" + scope }

    public func state() async throws -> (raw: String?, state: State) {
        let raw = try await store.checkpoint(stage: stage, name: draftName)
        return (raw, Self.parse(raw))
    }

    static func parse(_ raw: String?) -> State {
        let parts = (raw ?? "").split(separator: " ").map(String.init)
        switch (parts.first, parts.count) {
        case ("open", 2): return .open(parts[1])
        case ("publishing", 3): return .publishing(parts[1], since: Double(parts[2]) ?? 0)
        default: return .none
        }
    }

    /// The id of the open draft, creating it when there is none; waits while one is published.
    public func current() async throws -> String {
        while true {
            try Task.checkCancellation()
            let (raw, state) = try await state()
            switch state {
            case .open(let id):
                if try await store.version(id)?.status == .draft { return id }
                // Its draft vanished (discarded by hand): start over.
                _ = try await store.replaceCheckpoint(stage: stage, name: draftName, expected: raw, value: "")
            case .publishing(let id, let since):
                if Date().timeIntervalSince1970 - since > lease.seconds {
                    _ = try await store.replaceCheckpoint(
                        stage: stage, name: draftName, expected: raw, value: "open \(id)")
                } else {
                    try await Task.sleep(for: .milliseconds(200))
                }
            case .none:
                if let id = try await create(replacing: raw) { return id }
            }
        }
    }

    /// The version the next draft starts from.
    public func lastPublished() async throws -> String? {
        try await Self.lastPublished(in: store, stage: stage, scope: scope)
    }

    /// The version a coordinator of `stage` over `scope` last published (the dataset, for
    /// ingest), as another stage asks for it.
    public static func lastPublished(in store: any ManifestStore, stage: String, scope: String) async throws
        -> String?
    {
        let id = try await store.checkpoint(stage: stage, name: "published/" + scope)
        return id?.isEmpty == false ? id : nil
    }

    private func create(replacing raw: String?) async throws -> String? {
        let parent = seedFromLastPublished ? try await lastPublished() : nil
        let draft = try await store.createDraft(
            name: dataset, stage: stage, parents: parent.map { [$0] } ?? parents, configHash: configHash,
            config: config)
        if let parent { try await store.copyItems(from: parent, to: draft.id) }
        if try await store.replaceCheckpoint(stage: stage, name: draftName, expected: raw, value: "open \(draft.id)") {
            return draft.id
        }
        // Another process opened one first: use that.
        try await store.discardDraft(draft.id)
        return nil
    }

    /// Takes the open draft `id` for publishing; false when another process has it.
    public func beginPublishing(_ id: String) async throws -> Bool {
        try await store.replaceCheckpoint(
            stage: stage, name: draftName, expected: "open \(id)",
            value: "publishing \(id) \(Int(Date().timeIntervalSince1970))")
    }

    /// The checkpoint that records `version` as the one the next draft starts from: give it to
    /// ``ManifestPublisher/publish(_:prefix:workDirectory:recording:)``, which sets it with the
    /// publication, so a publisher that dies before ``endPublishing(_:published:)`` leaves the
    /// next draft seeded from what was actually published.
    public func publishedCheckpoint(_ version: String) -> ManifestCheckpoint {
        ManifestCheckpoint(stage: stage, name: publishedName, value: version)
    }

    /// Records `version` as the dataset's latest and lets workers open the next draft.
    public func endPublishing(_ id: String, published version: String) async throws {
        try await store.setCheckpoint(stage: stage, name: publishedName, value: version)
        let (raw, state) = try await state()
        if case .publishing(id, _) = state {
            _ = try await store.replaceCheckpoint(stage: stage, name: draftName, expected: raw, value: "")
        }
    }

    /// Gives the draft back to the workers after a failed publish.
    public func abandonPublishing(_ id: String) async throws {
        let (raw, state) = try await state()
        if case .publishing(id, _) = state {
            _ = try await store.replaceCheckpoint(stage: stage, name: draftName, expected: raw, value: "open \(id)")
        }
    }
}

extension SharedDraft {
    /// Claims `queue`'s work in batches and hands each batch, with the open draft its items go
    /// into, to `work`, until nothing is left to claim or held: claims of a worker that died
    /// come back when their lease runs out, so it waits for those rather than stop short.
    ///
    /// `work` gets the claims, the draft and how many items were left unclaimed. What it makes
    /// is `settle`d (recorded) while the next batch is claimed and worked, so the cores are not
    /// idle while a batch is written to the database; `settled` then gets what settling made,
    /// in batch order, and returns how many claims were failed back to the queue. A batch with
    /// failures is followed by a growing pause (0.2 s to 5 s), so that a brief outage of the
    /// store or database does not use up every attempt. However the loop ends (done, an error,
    /// a graceful shutdown), the batch being settled is settled first.
    public func drain<Worked: Sendable, Settled: Sendable>(
        queue: String, worker: String, batchSize: Int, outageLimit: Duration = .seconds(600),
        work: (_ claims: [ClaimedWork], _ draft: String, _ remaining: Int) async throws -> Worked,
        settle: @escaping @Sendable (Worked) async throws -> Settled,
        settled: (Settled) -> Int
    ) async throws {
        var settling: Task<Settled, any Error>?
        // The batch being settled: its failures count once it is.
        func finishSettling() async throws -> Int? {
            guard let task = settling else { return nil }
            settling = nil
            return settled(try await task.value)
        }
        do {
            try await drainLoop(
                queue: queue, worker: worker, batchSize: batchSize, outageLimit: outageLimit,
                finishSettling: finishSettling
            ) { claims, draft, remaining in
                let worked = try await work(claims, draft, remaining)
                // The batch before settles while this one was worked; this one settles next.
                let failures = try await finishSettling()
                settling = Task { try await settle(worked) }
                return failures
            }
        } catch {
            _ = try? await finishSettling()
            throw error
        }
        _ = try await finishSettling()
    }

    /// The loop of ``drain(queue:worker:batchSize:outageLimit:work:settle:settled:)``: `process`
    /// works a batch and returns the failures of the batch settled meanwhile, if one was.
    private func drainLoop(
        queue: String, worker: String, batchSize: Int, outageLimit: Duration,
        finishSettling: () async throws -> Int?,
        process: (_ claims: [ClaimedWork], _ draft: String, _ remaining: Int) async throws -> Int?
    ) async throws {
        var failedBatches = 0
        // Since when every batch failed whole: a store that is down (its items are given back,
        // see `Outage`) is waited out for `outageLimit`, then the run stops with nothing lost.
        var failingSince: ContinuousClock.Instant?
        var lastHolderCheck: ContinuousClock.Instant?
        var lastClaimed = 0
        func account(_ failures: Int, of claimed: Int) async throws {
            if failures > 0 {
                failedBatches += 1
                if failures >= claimed {
                    let since = failingSince ?? .now
                    failingSince = since
                    if ContinuousClock.now - since > outageLimit {
                        throw ManifestStoreError(
                            .database,
                            "every item of \(queue) has failed for \(Int((ContinuousClock.now - since).seconds)) s (see the log for why); nothing is lost: run it again once the store or service is back"
                        )
                    }
                } else {
                    failingSince = nil
                }
                try await Task.sleep(for: .milliseconds(min(100 << min(failedBatches, 6), 5_000)))
            } else {
                failedBatches = 0
                failingSince = nil
            }
        }
        // On SIGTERM (a service's graceful shutdown) the batch in hand is finished and recorded,
        // and no other is claimed.
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            let counts = try await store.queueCounts(queue: queue)
            guard (counts[.available] ?? 0) > 0 || (counts[.claimed] ?? 0) > 0 else { return }
            let draft = try await current()
            let claims = try await store.claimBatch(queue: queue, worker: worker, limit: batchSize, lease: lease)
            guard !claims.isEmpty else {
                // What is claimed may be this worker's own batch being settled: settle it and look again.
                if let failures = try await finishSettling() {
                    try await account(failures, of: lastClaimed)
                    continue
                }
                // Only claims of others are left. Those of a process on this host that is gone
                // (a killed run being run again) come back now, not when their lease runs out.
                if lastHolderCheck.map({ ContinuousClock.now - $0 > .seconds(5) }) ?? true {
                    lastHolderCheck = .now
                    if try await !store.releaseClaimsOfDeadLocalWorkers(queue: queue).isEmpty { continue }
                }
                try await Task.sleep(for: .milliseconds(500))
                continue
            }
            let failures = try await process(claims, draft, max(0, (counts[.available] ?? 0) - claims.count))
            if let failures { try await account(failures, of: lastClaimed) }
            lastClaimed = claims.count
        }
    }
}
