import Foundation
import Testing

@testable import Orchestration

@Suite("Sprint ledger and report: append-only records, the last completion counts, QA flags")
struct SprintLedgerTests {
    static func record(
        _ event: LedgerRecord.Event, task: String, model: String = "m@1", metrics: [String: Double]? = nil,
        artifact: String? = nil, failure: LedgerRecord.FailureClass? = nil
    ) -> LedgerRecord {
        LedgerRecord(
            event: event, task: task, queue: "q", kind: .evaluate, model: model, dataset: "normalize-aaa", worker: "w",
            attempt: 1, at: "2026-12-07T08:00:00Z", artifact: artifact, metrics: metrics, failureClass: failure,
            reason: failure.map { "because \($0.rawValue)" })
    }

    @Test func aTornLastLineIsSkippedAndTheLastCompletionCounts() throws {
        let directory = NSTemporaryDirectory() + "/ledger-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let ledger = SprintLedger(path: directory + "/ledger.jsonl")
        try ledger.append(Self.record(.started, task: "t1"))
        try ledger.append(Self.record(.failed, task: "t1", failure: .crash))
        try ledger.append(Self.record(.ok, task: "t1", metrics: ["accuracy": 0.9]))
        // A crash in the middle of a write.
        let handle = try #require(FileHandle(forWritingAtPath: ledger.path))
        handle.seekToEndOfFile()
        handle.write(Data("{\"event\":\"ok\",\"task\":\"t2\"".utf8))
        try handle.close()
        var records = try ledger.records()
        #expect(records.count == 3)
        // The next record starts a line of its own: only the torn one is lost.
        try ledger.append(Self.record(.started, task: "t3"))
        records = try ledger.records()
        #expect(records.count == 4 && records.last?.task == "t3")
        let latest = SprintLedger.latestCompletions(records)
        #expect(latest.keys.sorted() == ["t1"] && latest["t1"]?.event == .ok)
    }

    @Test func theReportRanksFlagsAndClassesFailures() throws {
        let root = NSTemporaryDirectory() + "/execution-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: root + "/q/a", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let metricsFile = SprintTaskRunner.MetricsFile(
            task: "a", kind: .evaluate, model: "fast@1", dataset: "normalize-aaa", metrics: [:], recall: [:],
            predictions: "predictions.jsonl")
        try JSONEncoder().encode(metricsFile).write(to: URL(fileURLWithPath: root + "/q/a/metrics.json"))
        let ledger = SprintLedger(path: root + "/q/ledger.jsonl")
        let recall = ["recall/x": 0.5, "recall/y": 0.5]
        try ledger.append(
            Self.record(
                .ok, task: "a", model: "fast@1",
                metrics: ["accuracy": 0.8, "macro_f1": 0.8, "latency_p50_ms": 1, "latency_p99_ms": 2].merging(recall) {
                    a, _ in a
                },
                artifact: "q/a/metrics.json"))
        try ledger.append(
            Self.record(
                .ok, task: "b", model: "slow@1",
                metrics: ["accuracy": 0.9, "macro_f1": 0.9, "latency_p50_ms": 5, "latency_p99_ms": 9].merging(recall) {
                    a, _ in a
                },
                artifact: "q/b/metrics.json"))
        try ledger.append(
            Self.record(
                .ok, task: "c", model: "weak@1",
                metrics: ["accuracy": 0.4, "macro_f1": .nan, "latency_p50_ms": 6, "latency_p99_ms": 80].merging(recall)
                { a, _ in a },
                artifact: "q/a/metrics.json"))
        try ledger.append(Self.record(.failed, task: "d", model: "broken@1", failure: .load))
        let report = try SprintReport.build(sprint: "s1", executionRoot: root, plan: nil)
        #expect(report.ok == 3 && report.failed == 1)
        let board = try #require(report.leaderboards.first)
        #expect(board.rows.map(\.model) == ["slow@1", "fast@1", "weak@1"])
        #expect(Set(board.paretoFront) == ["a", "b"])
        #expect(board.topCandidate == "b" && board.fallback == "a")
        #expect(report.failures.map(\.failureClass) == [.load] && report.failures[0].tasks == ["d"])
        let flagged = Dictionary(grouping: report.flags, by: \.task).mapValues { $0.map(\.problem) }
        #expect(flagged["b"] == ["artifact q/b/metrics.json is missing"], "\(flagged)")
        #expect(flagged["c"]?.contains("macro_f1 is nan") == true, "\(flagged)")
        #expect(flagged["c"]?.contains { $0.hasPrefix("accuracy 0.400 is at or below chance") } == true, "\(flagged)")
        #expect(flagged["c"]?.contains { $0.hasPrefix("p99 latency 80.0 ms") } == true, "\(flagged)")
        #expect(flagged["a"] == nil)
        let html = report.html()
        #expect(html.contains("<svg") && html.contains("polyline"))
        #expect(!html.contains("src=") && !html.contains("href="), "self-contained: nothing to fetch")
        #expect(report.markdown().contains("| 1 | slow@1 | 0.900 |"))
    }
}
