import Foundation

/// The record of what every stage did: dataset versions and their items, stage
/// checkpoints, and work queues that N workers on N machines share through leased claims.
///
/// Two implementations pass the same contract tests: ``PostgresManifestStore`` (production,
/// many machines) and ``SQLiteManifestStore`` (embedded, one machine).
public protocol ManifestStore: Sendable {
    /// Applies the schema migrations not applied yet (under a lock, so concurrent starts do
    /// not race) and returns the versions applied now.
    @discardableResult
    func migrate() async throws -> [Int]

    /// The highest migration applied, 0 for an empty database.
    func schemaVersion() async throws -> Int

    // MARK: Dataset versions

    /// Starts a draft version that items can be added to.
    func createDraft(name: String, stage: String, parents: [String], configHash: String, config: String) async throws
        -> DatasetVersion

    /// Adds (or replaces, by source key) items of a draft, in bulk.
    func addItems(_ items: [DatasetItem], to versionId: String) async throws

    /// Copies every item of `source` into the draft `draftId`, keeping items the draft has
    /// already (so a draft seeded from its parent keeps what was added to it). Returns how many were copied.
    @discardableResult
    func copyItems(from source: String, to draftId: String) async throws -> Int

    /// Items of a version in source-key (UTF-8 byte) order, after `after`, at most `limit`.
    func items(of versionId: String, after: String?, limit: Int) async throws -> [DatasetItem]

    func version(_ id: String) async throws -> DatasetVersion?

    /// Versions, newest first, optionally of one name and/or stage.
    func versions(name: String?, stage: String?, limit: Int) async throws -> [DatasetVersion]

    /// Publishes a draft under `finalId` (derived from its content): the version and its
    /// items become immutable. When `finalId` is published already, the draft is discarded
    /// and the existing version is returned: publishing twice gives one version.
    ///
    /// `checkpoint` is set in the same transaction: a coordinator that records which version it
    /// published (``SharedDraft``) cannot crash between the two and seed its next draft from an
    /// older version.
    func publish(
        draft: String, as finalId: String, contentDigest: String, manifestURI: String, checkpoint: ManifestCheckpoint?
    ) async throws -> DatasetVersion

    /// Deletes a draft and its items. Published versions cannot be discarded.
    func discardDraft(_ id: String) async throws

    func lineage(of id: String) async throws -> Lineage

    // MARK: Checkpoints

    func checkpoint(stage: String, name: String) async throws -> String?
    func setCheckpoint(stage: String, name: String, value: String) async throws

    /// Sets the checkpoint to `value` only if it is `expected` now (nil: absent); returns
    /// whether it did. N processes racing for the same change see exactly one succeed.
    func replaceCheckpoint(stage: String, name: String, expected: String?, value: String) async throws -> Bool

    // MARK: Work queues

    /// Adds keys to `queue`; keys already there are left as they are. Returns how many were new.
    @discardableResult
    func enqueue(queue: String, items: [(key: String, payload: String)]) async throws -> Int

    /// Claims up to `limit` available items (or items whose lease expired) for `worker`
    /// until `lease` from now, in one statement; concurrent workers never get the same item.
    func claimBatch(queue: String, worker: String, limit: Int, lease: Duration) async throws -> [ClaimedWork]

    /// Marks items done, if `worker` still holds them; returns the keys it completed.
    @discardableResult
    func complete(queue: String, worker: String, keys: [String]) async throws -> [String]

    /// Returns failed items to the queue, or to `dead` once they used up their attempts.
    func fail(queue: String, worker: String, failures: [(key: String, error: String)]) async throws

    /// How many items of `queue` are in each state.
    func queueCounts(queue: String) async throws -> [WorkState: Int]

    /// Returns items `worker` holds to the queue without counting the attempt (they failed for
    /// an outage, not for themselves), recording the error.
    func giveBack(queue: String, worker: String, failures: [(key: String, error: String)]) async throws

    /// The workers holding unexpired claims in `queue`.
    func claimHolders(queue: String) async throws -> [String]

    /// Ends the leases of `worker`'s claims (in `queue`, or in every queue when nil), so the
    /// items are claimed again at once (or set aside as dead on their last attempt); returns
    /// how many claims it ended. For a worker known to be gone.
    func releaseClaims(queue: String?, worker: String) async throws -> Int

    /// Takes the items of each object of `sourceKeys` (and its augmented copies, `<key>#aug…`)
    /// out of draft `draftId` and records the object as removed with `reason`; returns how many
    /// items it took out. Objects without items in the draft are not recorded.
    @discardableResult
    func removeItems(sourceKeys: [String], reason: String, from draftId: String) async throws -> Int

    /// The objects whose items version `versionId` took out of the version it was seeded from.
    func removedItems(of versionId: String) async throws -> [RemovedItem]

    /// Forgets that `object` was done in `queue`, whose keys are `<object>@<version>`: deletes its
    /// completed items, so any version of it is queued again (after the object was deleted, an
    /// upload of the same bytes under the same key is new). Returns how many it deleted.
    @discardableResult
    func forgetCompleted(queue: String, object: String) async throws -> Int

    /// Every queue (or the one named) with its counts, oldest waiting item and oldest claim.
    func queueSummaries(queue: String?) async throws -> [QueueSummary]

    /// The dead items of `queue` with their last errors, most recently dead first.
    func deadWork(queue: String, limit: Int) async throws -> [DeadWork]

    /// Deletes finished work as `policy` says (see `WorkPrunePolicy`).
    @discardableResult
    func pruneWork(_ policy: WorkPrunePolicy) async throws -> WorkPruneReport
}

extension ManifestStore {
    /// The newest published version of dataset `name` made by `stage`, if any.
    public func latestPublished(name: String, stage: String) async throws -> DatasetVersion? {
        try await versions(name: name, stage: stage, limit: 50).first { $0.status == .published }
    }
}

/// A checkpoint value to set together with another change of the store.
public struct ManifestCheckpoint: Sendable, Equatable {
    public let stage: String
    public let name: String
    public let value: String

    public init(stage: String, name: String, value: String) {
        self.stage = stage
        self.name = name
        self.value = value
    }
}

extension ManifestStore {
    public func publish(draft: String, as finalId: String, contentDigest: String, manifestURI: String) async throws
        -> DatasetVersion
    {
        try await publish(
            draft: draft, as: finalId, contentDigest: contentDigest, manifestURI: manifestURI, checkpoint: nil)
    }
}
