import ArgumentParser
import Foundation
import PipelineCommon
import StageCommand

struct QueuesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "queues",
        abstract: "Operate the work queues the stages share.",
        subcommands: [List.self, Show.self, Prune.self, Release.self])

    /// A queue as `--json` prints it.
    struct QueueJSON: Encodable {
        struct Claim: Encodable {
            let worker: String
            let key: String
            let claimedAt: Date?
            let leaseExpiresAt: Date
            let attempt: Int
        }
        struct Dead: Encodable {
            let key: String
            let attempts: Int
            let lastError: String
            let diedAt: Date?
        }
        let queue: String
        let available: Int
        let claimed: Int
        let completed: Int
        let dead: Int
        let oldestAvailable: Date?
        let oldestClaim: Claim?
        let lastFinished: Date?
        let holders: [String]?
        let deadItems: [Dead]?

        init(_ summary: QueueSummary, holders: [String]? = nil, dead: [DeadWork]? = nil) {
            queue = summary.queue
            available = summary.counts[.available] ?? 0
            claimed = summary.counts[.claimed] ?? 0
            completed = summary.counts[.completed] ?? 0
            self.dead = summary.counts[.dead] ?? 0
            oldestAvailable = summary.oldestAvailable
            oldestClaim = summary.oldestClaim.map {
                Claim(
                    worker: $0.worker, key: $0.key, claimedAt: $0.claimedAt, leaseExpiresAt: $0.leaseExpiresAt,
                    attempt: $0.attempt)
            }
            lastFinished = summary.lastFinished
            self.holders = holders
            deadItems = dead?.map { Dead(key: $0.key, attempts: $0.attempts, lastError: $0.lastError, diedAt: $0.diedAt) }
        }
    }

    /// How long ago, as a person reads it: `42 s`, `17 min`, `5.2 h`, `3.1 d`.
    static func age(_ date: Date?, now: Date = Date()) -> String {
        guard let date else { return "-" }
        let seconds = now.timeIntervalSince(date)
        if seconds < 120 { return "\(Int(seconds.rounded())) s" }
        if seconds < 7200 { return "\(Int((seconds / 60).rounded())) min" }
        if seconds < 172_800 { return String(format: "%.1f h", seconds / 3600) }
        return String(format: "%.1f d", seconds / 86_400)
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Every queue with its items per state, its oldest waiting item and its oldest claim.")
        @OptionGroup var options: GlobalOptions
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let store = try await DatasetsCommand.open(options)
            let queues = try await store.queueSummaries(queue: nil)
            if json { return try DatasetsCommand.printJSON(queues.map { QueueJSON($0) }) }
            guard !queues.isEmpty else { return print("no work queues (nothing was queued yet, or all was pruned)") }
            let rows = queues.map { queue in
                [
                    queue.queue, "\(queue.counts[.available] ?? 0)", "\(queue.counts[.claimed] ?? 0)",
                    "\(queue.counts[.completed] ?? 0)", "\(queue.counts[.dead] ?? 0)",
                    QueuesCommand.age(queue.oldestAvailable),
                    queue.oldestClaim.map { "\(QueuesCommand.age($0.claimedAt)) by \($0.worker)" } ?? "-",
                    QueuesCommand.age(queue.lastFinished),
                ]
            }
            print(
                Table.render(
                    header: [
                        "QUEUE", "AVAILABLE", "CLAIMED", "COMPLETED", "DEAD", "OLDEST WAITING", "OLDEST CLAIM",
                        "LAST FINISHED",
                    ], rows: rows))
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "One queue: its counts, the workers holding claims, and its dead items with their last errors.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "The queue, as `queues list` names it (e.g. ingest/images).") var queue: String
        @Option(help: "Dead items to list.") var dead: Int = 20
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let store = try await DatasetsCommand.open(options)
            guard let summary = try await store.queueSummaries(queue: queue).first else {
                FileHandle.standardError.write(
                    Data("pipelinectl: no queue \(queue) (see pipelinectl queues list)\n".utf8))
                throw ExitCode(2)
            }
            let holders = try await store.claimHolders(queue: queue).sorted()
            let deadItems = try await store.deadWork(queue: queue, limit: max(0, dead))
            if json { return try DatasetsCommand.printJSON(QueueJSON(summary, holders: holders, dead: deadItems)) }
            let counts = WorkState.allCases.map { "\($0.rawValue) \(summary.counts[$0] ?? 0)" }
            print("queue \(summary.queue): " + counts.joined(separator: ", "))
            print("oldest waiting: " + QueuesCommand.age(summary.oldestAvailable))
            if let claim = summary.oldestClaim {
                print(
                    "oldest claim: \(claim.key) by \(claim.worker), attempt \(claim.attempt), claimed "
                        + "\(QueuesCommand.age(claim.claimedAt)) ago, lease ends \(DatasetsCommand.date(claim.leaseExpiresAt)) UTC"
                )
            }
            print("last finished: " + QueuesCommand.age(summary.lastFinished) + " ago")
            print("workers holding claims: " + (holders.isEmpty ? "none" : holders.joined(separator: ", ")))
            if !deadItems.isEmpty {
                print("")
                print(
                    Table.render(
                        header: ["DEAD ITEM", "ATTEMPTS", "DIED (UTC)", "LAST ERROR"],
                        rows: deadItems.map {
                            [$0.key, "\($0.attempts)", DatasetsCommand.date($0.diedAt), $0.lastError]
                        }))
            }
        }
    }

    struct Prune: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete finished work older than the retention (the stages do this by themselves, hourly).",
            discussion: """
                A queue whose work finished (nothing available or claimed) before the cutoff is deleted whole; \
                dead items are deleted everywhere; ingest's queues keep each object's newest completed version, \
                which is how a poll knows what it ingested already.
                """)
        @OptionGroup var options: GlobalOptions
        @Option(help: "Prune what finished more than this many hours ago (default: manifest.work_retention_hours).")
        var olderThanHours: Double?
        @Option(help: "Only this queue (default: every queue).") var queue: String?

        func run() async throws {
            let (configuration, _) = try options.bootstrap()
            let retention: Duration
            if let hours = olderThanHours {
                guard hours >= 0, hours.isFinite else {
                    throw ValidationError("--older-than-hours must be 0 or more, not \(hours)")
                }
                retention = .milliseconds(Int64(hours * 3_600_000))
            } else if let configured = configuration.manifest.workRetention {
                retention = configured
            } else {
                FileHandle.standardError.write(
                    Data(
                        "pipelinectl: manifest.work_retention_hours is 0 (keep finished work forever); pass --older-than-hours to prune anyway\n"
                            .utf8))
                throw ExitCode(2)
            }
            let store = try await ManifestStoreFactory.make(configuration)
            try await store.migrate()
            let report = try await store.pruneWork(.olderThan(retention, queue: queue))
            print(
                "pruned \(report.completed) completed and \(report.dead) dead item(s), \(report.queues) finished queue(s) whole"
            )
        }
    }

    struct Release: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "release",
            abstract:
                "Give back now the claims of a worker known to be gone (a lost host), instead of when their lease runs out.",
            discussion: """
                Stages take back the claims of a dead process on their own host by themselves; this is for a \
                worker whose host is gone. Worker names are <host>-<pid>-<start>-<pid namespace>, as the stages log them. \
                Never release a worker that is still running: its items would be processed twice.
                """)

        @OptionGroup var options: GlobalOptions
        @Option(help: "The worker whose claims to release, e.g. node-7-4242-981723-4026531836.") var worker: String
        @Option(help: "Only this queue (default: every queue).") var queue: String?

        func run() async throws {
            let store = try await DatasetsCommand.open(options)
            let released = try await store.releaseClaims(queue: queue, worker: worker)
            print("released \(released) claim(s) of \(worker)" + (queue.map { " in \($0)" } ?? ""))
        }
    }
}
