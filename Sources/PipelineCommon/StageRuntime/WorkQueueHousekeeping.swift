import Foundation
import Logging

/// One work queue at a glance: what `pipelinectl queues list` prints.
public struct QueueSummary: Sendable, Equatable {
    /// The claim held longest among a queue's open claims.
    public struct Claim: Sendable, Equatable {
        public let worker: String
        public let key: String
        /// When it was claimed; nil for claims made before schema version 3.
        public let claimedAt: Date?
        public let leaseExpiresAt: Date
        public let attempt: Int
    }

    public let queue: String
    public let counts: [WorkState: Int]
    /// When the item waiting longest was queued.
    public let oldestAvailable: Date?
    public let oldestClaim: Claim?
    /// When an item last completed or died.
    public let lastFinished: Date?

    public var total: Int { counts.values.reduce(0, +) }
    /// Nothing available or claimed: the queue's work is done (as far as it was queued).
    public var isFinished: Bool { (counts[.available] ?? 0) == 0 && (counts[.claimed] ?? 0) == 0 }
}

/// An item that failed its last attempt, with the error it failed with.
public struct DeadWork: Sendable, Equatable {
    public let key: String
    public let attempts: Int
    public let lastError: String
    /// When it died; nil for items that died before schema version 3.
    public let diedAt: Date?
}

/// What pruning deletes. Completed items are a queue's memory of what was done, and some
/// memories are still needed:
/// - a finished queue (nothing available or claimed, nothing finished since the cutoff) is
///   deleted whole: its run is over (normalize and infer mark a published run with a checkpoint
///   and do not queue it again);
/// - a queue whose keys are `<object>@<version>` (`versionedQueuePrefixes`: ingest's, where a
///   completed key means "this version of this object was ingested" and a poll queues only keys it
///   does not find) is never deleted whole: only its dead items and the completed items of an
///   object that has a newer completed version are pruned;
/// - dead items finished before the cutoff go everywhere (queued again, they are retried).
public struct WorkPrunePolicy: Sendable, Equatable {
    /// Ingest's queues, `ingest/<dataset>`, whose keys are `<object key>@<ETag>`.
    public static let ingestQueuePrefix = "ingest/"

    public var cutoff: Date
    /// One queue, or every queue (nil).
    public var queue: String?
    public var versionedQueuePrefixes: [String]

    public init(cutoff: Date, queue: String? = nil, versionedQueuePrefixes: [String] = [Self.ingestQueuePrefix]) {
        self.cutoff = cutoff
        self.queue = queue
        self.versionedQueuePrefixes = versionedQueuePrefixes
    }

    /// Pruning what finished more than `retention` ago.
    public static func olderThan(_ retention: Duration, queue: String? = nil, now: Date = Date()) -> WorkPrunePolicy {
        WorkPrunePolicy(cutoff: now.addingTimeInterval(-retention.seconds), queue: queue)
    }

    func isVersioned(_ queue: String) -> Bool { versionedQueuePrefixes.contains { queue.hasPrefix($0) } }
}

/// What one prune deleted.
public struct WorkPruneReport: Sendable, Equatable {
    /// Whole finished queues deleted.
    public var queues = 0
    public var completed = 0
    public var dead = 0

    public init(queues: Int = 0, completed: Int = 0, dead: Int = 0) {
        self.queues = queues
        self.completed = completed
        self.dead = dead
    }
}

/// Prunes finished work at most once per interval in one process: the stages call it after each
/// run, services after each cycle, so N replicas do not each scan the table every minute.
public actor WorkHousekeeper {
    private let store: any ManifestStore
    private let retention: Duration?
    private let interval: Duration
    private var last: ContinuousClock.Instant?

    /// `retention` nil: never prune.
    public init(store: any ManifestStore, retention: Duration?, interval: Duration = .seconds(3600)) {
        self.store = store
        self.retention = retention
        self.interval = interval
    }

    /// Prunes unless it did less than `interval` ago; never throws (housekeeping must not fail a run).
    @discardableResult
    public func pruneIfDue(logger: Logger) async -> WorkPruneReport? {
        guard let retention else { return nil }
        let now = ContinuousClock.now
        if let last, now - last < interval { return nil }
        last = now
        do {
            let report = try await store.pruneWork(.olderThan(retention))
            if report.completed + report.dead > 0 {
                logger.info(
                    "pruned finished work",
                    metadata: [
                        "queues": "\(report.queues)", "completed": "\(report.completed)", "dead": "\(report.dead)",
                        "retention_hours": "\(Int(retention.seconds / 3600))",
                    ])
            }
            return report
        } catch {
            logger.warning("could not prune finished work; the next run tries again", metadata: ["error": "\(error)"])
            return nil
        }
    }
}
