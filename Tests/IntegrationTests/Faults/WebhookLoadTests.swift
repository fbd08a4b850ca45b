import Foundation
import Logging
import PipelineCommon
import Synchronization
import TestSupport
import Testing

/// `pipeline-ingest serve` under a bounded load on loopback (3 000 deliveries from 8 threads of
/// scripts/peers/webhook_load.py: events of 1 to 3 records, duplicates, malformed bodies, missing
/// tokens), on the embedded default (file store, SQLite): every acknowledged event is queued
/// exactly once, every refused delivery got a 4xx or 503 with a reason, the service stays up and
/// answers, and its memory stays bounded.
@Suite("Faults: the webhook under load")
struct WebhookLoadTests {
    static let deliveries = 3000

    @Test func everyAcknowledgedEventIsQueuedOnceAndEveryRefusalHasAReason() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let port = try closedPort()
        let token = "load-token-\(UUID().uuidString.prefix(8))"
        let environment = [
            "HOME": dir.path, "PIPELINE_DATA_DIR": dir.file("data"),
            "PIPELINE_MANIFEST_URL": "sqlite://" + dir.file("manifest.db"), "PIPELINE_METRICS_PORT": "\(port)",
            "PIPELINE_WEBHOOK_TOKEN": token, "PIPELINE_LOG_FORMAT": "json", "PIPELINE_LOG_LEVEL": "warning",
            "PIPELINE_DATASET": "load",
        ]
        let err = dir.file("serve.err")
        FileManager.default.createFile(atPath: err, contents: nil)
        let process = Process()
        process.executableURL = Command.buildDirectory.appendingPathComponent("pipeline-ingest")
        process.arguments = ["serve"]
        process.environment = environment
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle(forWritingAtPath: err)
        try process.run()
        defer {
            if process.isRunning {
                process.terminate()
                process.waitUntilExit()
            }
        }
        let http = HTTPClient(configuration: .init(), logger: Logger(label: "webhook-load"))
        let base = "http://127.0.0.1:\(port)"
        func status(_ path: String) async -> Int? {
            try? await http.execute(HTTPRequest(url: URL(string: base + path)!, retryPolicy: .never)).status
        }
        var ready = false
        for _ in 0..<600 where !ready && process.isRunning {
            try await Task.sleep(for: .milliseconds(50))
            ready = await status("/readyz") == 200
        }
        try #require(
            ready, "ingest serve did not become ready: \((try? String(contentsOfFile: err, encoding: .utf8)) ?? "")")

        func residentMiB() -> Double {
            let text = (try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8)) ?? ""
            let line = text.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
            return Double(line.split(separator: " ").dropFirst().first ?? "0").map { $0 / 1024 } ?? 0
        }
        let before = residentMiB()
        let peak = Mutex(before)
        let sampler = Task {
            while !Task.isCancelled {
                let now = residentMiB()
                peak.withLock { $0 = max($0, now) }
                try? await Task.sleep(for: .milliseconds(50))
            }
        }
        let report = dir.file("load.json")
        let client = Services.packageRoot.appendingPathComponent("scripts/peers/webhook_load.py").path
        let load = try await Command.run(
            "/usr/bin/python3", [client, base + "/events", token, "\(Self.deliveries)", "8", "7", report],
            environment: ["PATH": "/usr/bin:/bin"])
        sampler.cancel()
        #expect(load.status == 0, "\(load.stderr)")

        struct Report: Decodable {
            struct Delivery: Decodable {
                let kind: String
                let status: Int
                let reason: String
            }
            let seconds: Double
            let deliveries: [Delivery]
            let acknowledged: [[String]]
            let planned_events: [[String]]
        }
        let outcome = try JSONDecoder().decode(Report.self, from: Data(contentsOf: URL(fileURLWithPath: report)))
        #expect(outcome.deliveries.count == Self.deliveries)
        #expect(process.isRunning, "the service stayed up")
        let live = await status("/livez"), readyAfter = await status("/readyz")
        #expect(live == 200 && readyAfter == 200, "and answers")
        var byKind: [String: [Int: Int]] = [:]
        for delivery in outcome.deliveries { byKind[delivery.kind, default: [:]][delivery.status, default: 0] += 1 }
        #expect(outcome.deliveries.allSatisfy { $0.status != 0 }, "no delivery was left without an answer")
        // Refusals: a 4xx or 503, each with a reason.
        for delivery in outcome.deliveries where !(200..<300).contains(delivery.status) {
            #expect(
                (400..<500).contains(delivery.status) || delivery.status == 503, "\(delivery.kind): \(delivery.status)")
            #expect(
                !delivery.reason.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty,
                "\(delivery.kind) refused without a reason")
        }
        #expect(byKind["malformed"]?.keys.allSatisfy { $0 == 400 } == true, "malformed: \(byKind["malformed"] ?? [:])")
        #expect(byKind["no-token"]?.keys.allSatisfy { $0 == 401 } == true, "no token: \(byKind["no-token"] ?? [:])")
        // Every acknowledged event queued exactly once (the queue key is the object and its ETag),
        // none that was refused.
        let database = try await SQLiteDatabase.open(path: dir.file("manifest.db"))
        let rows = try await database.query("SELECT key FROM work_items WHERE queue = ?", [.text("ingest/load")])
        let keys = rows.compactMap { $0.first?.blobText }
        let queued = Set(keys)
        #expect(keys.count == queued.count)
        let acknowledged = Set(outcome.acknowledged.map { $0[0] + "@" + $0[1] })
        #expect(
            queued == acknowledged,
            "queued but not acknowledged: \(queued.subtracting(acknowledged).prefix(3)); acknowledged but not queued: \(acknowledged.subtracting(queued).prefix(3))"
        )
        #expect(
            acknowledged.count == outcome.planned_events.count,
            "every well-formed event with the token was acknowledged")
        #expect(keys.count == acknowledged.count, "one work item per event: \(keys.count)")
        let peakMiB = peak.withLock { $0 }
        #expect(peakMiB < 400, "resident memory peaked at \(Int(peakMiB)) MiB")
        FileHandle.standardError.write(
            Data(
                "webhook load: \(Self.deliveries) deliveries in \(String(format: "%.1f", outcome.seconds)) s (\(Int(Double(Self.deliveries) / outcome.seconds))/s), by kind and status \(byKind.sorted { $0.key < $1.key }); \(acknowledged.count) events acknowledged = queued once; RSS \(Int(before)) MiB before, \(Int(peakMiB)) MiB peak\n"
                    .utf8))
    }
}
