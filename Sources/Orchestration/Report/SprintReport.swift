import Foundation
import PipelineCommon

/// `sprint report`: every queue's ledger consolidated (the last completion of each task), with
/// leaderboards, the quality/latency Pareto front, failure classes and what a referee would flag.
public struct SprintReport: Sendable, Codable, Equatable {
    public let format: String
    public let sprint: String
    public let generatedAt: String
    public let tasks: [LedgerRecord]
    public let leaderboards: [Leaderboard]
    public let failures: [FailureGroup]
    public let flags: [Flag]
    /// Planned tasks with no completion in any ledger.
    public let neverRun: [String]
    public let queues: [QueueProgress]

    public var ok: Int { tasks.filter { $0.event == .ok }.count }
    public var failed: Int { tasks.filter { $0.event == .failed }.count }

    public struct Leaderboard: Sendable, Codable, Equatable {
        public let dataset: String
        public let kind: TaskKind
        /// Best first: accuracy, then macro F1, then lower p50 latency.
        public let rows: [Row]
        /// Tasks no other beats on both accuracy and p50 latency.
        public let paretoFront: [String]
        public let topCandidate: String?
        public let fallback: String?
        /// Accuracy at or above the median, p50 latency above it.
        public let goodButSlow: [String]
        /// Accuracy below the median, p50 latency at or below it.
        public let fastButWeak: [String]
    }

    public struct Row: Sendable, Codable, Equatable {
        public let task: String
        public let model: String
        public let metrics: [String: Double]
    }

    public struct FailureGroup: Sendable, Codable, Equatable {
        public let failureClass: LedgerRecord.FailureClass
        public let tasks: [String]
        public let reasons: [String]
    }

    public struct Flag: Sendable, Codable, Equatable {
        public let task: String
        public let problem: String
    }

    public struct QueueProgress: Sendable, Codable, Equatable {
        public let queue: String
        public let planned: Int
        public let ok: Int
        public let failed: Int
    }

    /// Reads every `<execution root>/<queue>/ledger.jsonl` (and the plan, when given, for what
    /// never ran) and checks each ok task's artifact.
    public static func build(sprint: String, executionRoot: String, plan planPath: String?, now: Date = Date())
        throws -> SprintReport
    {
        var completions: [LedgerRecord] = []
        let queueNames = ((try? FileManager.default.contentsOfDirectory(atPath: executionRoot)) ?? []).sorted()
        for name in queueNames {
            let ledger = SprintLedger(path: executionRoot + "/" + name + "/ledger.jsonl")
            guard FileManager.default.fileExists(atPath: ledger.path) else { continue }
            completions += SprintLedger.latestCompletions(try ledger.records()).values.sorted { $0.task < $1.task }
        }
        var plan: SprintPlan?
        if let planPath {
            guard let data = FileManager.default.contents(atPath: planPath),
                let decoded = try? SprintJSON.decoder.decode(SprintPlan.self, from: data)
            else { throw SprintError("\(planPath) is not a sprint plan (plan.json of sprint plan)") }
            plan = decoded
        }
        var flags: [Flag] = []
        var okTasks: [LedgerRecord] = []
        for record in completions where record.event == .ok {
            let problems = Self.check(record, executionRoot: executionRoot)
            flags += problems.map { Flag(task: record.task, problem: $0) }
            okTasks.append(record)
        }
        let completed = Set(completions.map(\.task))
        let neverRun = (plan?.queues.flatMap(\.tasks).map(\.id) ?? []).filter { !completed.contains($0) }
        flags += neverRun.map { Flag(task: $0, problem: "planned but never run") }

        var leaderboards: [Leaderboard] = []
        let groups = Dictionary(grouping: okTasks) { "\($0.dataset)\u{0}\($0.kind.rawValue)" }
        for key in groups.keys.sorted() {
            let records = groups[key]!
            let rows = records.map { Row(task: $0.task, model: $0.model, metrics: $0.metrics ?? [:]) }.sorted(
                by: better)
            let front = paretoFront(rows)
            let accuracies = rows.map { $0.metrics["accuracy"] ?? 0 }
            let latencies = rows.map { $0.metrics["latency_p50_ms"] ?? 0 }
            let accuracyMedian = ClassificationMetrics.percentile(accuracies, 50)
            let latencyMedian = ClassificationMetrics.percentile(latencies, 50)
            flags += latencyOutliers(rows)
            leaderboards.append(
                Leaderboard(
                    dataset: records[0].dataset, kind: records[0].kind, rows: rows, paretoFront: front,
                    topCandidate: rows.first?.task, fallback: rows.dropFirst().first?.task,
                    goodButSlow: rows.filter {
                        ($0.metrics["accuracy"] ?? 0) >= accuracyMedian
                            && ($0.metrics["latency_p50_ms"] ?? 0) > latencyMedian
                    }.map(\.task),
                    fastButWeak: rows.filter {
                        ($0.metrics["accuracy"] ?? 0) < accuracyMedian
                            && ($0.metrics["latency_p50_ms"] ?? 0) <= latencyMedian
                    }.map(\.task)))
        }
        let failedRecords = completions.filter { $0.event == .failed }
        let failures = LedgerRecord.FailureClass.allCases.compactMap { failureClass -> FailureGroup? in
            let members = failedRecords.filter { ($0.failureClass ?? .crash) == failureClass }
            guard !members.isEmpty else { return nil }
            return FailureGroup(
                failureClass: failureClass, tasks: members.map(\.task), reasons: members.map { $0.reason ?? "" })
        }
        let queues = (plan?.queues.map(\.name) ?? queueNames).map { name in
            QueueProgress(
                queue: name,
                planned: plan?.queues.first { $0.name == name }?.tasks.count
                    ?? completions.filter { $0.queue == name }.count,
                ok: completions.filter { $0.queue == name && $0.event == .ok }.count,
                failed: completions.filter { $0.queue == name && $0.event == .failed }.count)
        }
        let formatter = ISO8601DateFormatter()
        return SprintReport(
            format: "image-pipeline sprint report v1", sprint: sprint, generatedAt: formatter.string(from: now),
            tasks: completions, leaderboards: leaderboards, failures: failures, flags: flags, neverRun: neverRun,
            queues: queues)
    }

    /// What a referee would flag on an ok task: its artifact missing or unreadable, metrics out
    /// of range or not numbers, accuracy no better than chance.
    static func check(_ record: LedgerRecord, executionRoot: String) -> [String] {
        var problems: [String] = []
        if let artifact = record.artifact {
            let path = executionRoot + "/" + artifact
            if let data = FileManager.default.contents(atPath: path) {
                if (try? SprintJSON.decoder.decode(SprintTaskRunner.MetricsFile.self, from: data)) == nil {
                    problems.append("artifact \(artifact) is unreadable")
                }
            } else {
                problems.append("artifact \(artifact) is missing")
            }
        } else {
            problems.append("recorded ok without an artifact")
        }
        let metrics = record.metrics ?? [:]
        for (key, value) in metrics.sorted(by: { $0.key < $1.key }) {
            if !value.isFinite {
                problems.append("\(key) is \(value)")
            } else if ["accuracy", "macro_f1", "macro_auroc"].contains(key) || key.hasPrefix("recall/"),
                value < 0 || value > 1
            {
                problems.append("\(key) = \(value) is outside 0…1")
            } else if key.hasSuffix("_ms") || key.hasSuffix("_second") || key == "wall_seconds", value < 0 {
                problems.append("\(key) = \(value) is negative")
            }
        }
        if let failed = metrics["images_failed"], failed > 0 {
            problems.append("\(Int(failed)) of \(Int(metrics["images"] ?? 0)) images were not predicted")
        }
        let classes = metrics.keys.filter { $0.hasPrefix("recall/") }.count
        if let accuracy = metrics["accuracy"], accuracy.isFinite, classes > 0, accuracy <= 1 / Double(classes) {
            problems.append(
                String(
                    format: "accuracy %.3f is at or below chance (%.3f for %d classes)", accuracy, 1 / Double(classes),
                    classes))
        }
        return problems
    }

    /// p99 latency more than 5 times the group's median p99.
    static func latencyOutliers(_ rows: [Row]) -> [Flag] {
        let p99s = rows.compactMap { $0.metrics["latency_p99_ms"] }
        guard p99s.count >= 3 else { return [] }
        let median = ClassificationMetrics.percentile(p99s, 50)
        return rows.compactMap { row in
            guard let p99 = row.metrics["latency_p99_ms"], median > 0, p99 > 5 * median else { return nil }
            return Flag(
                task: row.task,
                problem: String(format: "p99 latency %.1f ms is over 5x the median (%.1f ms)", p99, median))
        }
    }

    static func better(_ a: Row, _ b: Row) -> Bool {
        let key = { (row: Row) in
            (row.metrics["accuracy"] ?? 0, row.metrics["macro_f1"] ?? 0, -(row.metrics["latency_p50_ms"] ?? 0))
        }
        let (x, y) = (key(a), key(b))
        if x.0 != y.0 { return x.0 > y.0 }
        if x.1 != y.1 { return x.1 > y.1 }
        if x.2 != y.2 { return x.2 > y.2 }
        return a.task < b.task
    }

    /// Rows no other row beats on accuracy (higher) and p50 latency (lower) at once.
    static func paretoFront(_ rows: [Row]) -> [String] {
        rows.filter { row in
            let accuracy = row.metrics["accuracy"] ?? 0
            let latency = row.metrics["latency_p50_ms"] ?? .infinity
            return !rows.contains { other in
                let a = other.metrics["accuracy"] ?? 0
                let l = other.metrics["latency_p50_ms"] ?? .infinity
                return a >= accuracy && l <= latency && (a > accuracy || l < latency)
            }
        }.map(\.task)
    }
}
