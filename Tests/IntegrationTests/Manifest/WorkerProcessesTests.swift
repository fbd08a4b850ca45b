import Foundation
import Testing

@testable import PipelineCommon

/// Separate worker processes sharing one queue, as replicas on several machines would.
@Suite("Work claims across worker processes")
struct WorkerProcessesTests {
    static let items = 10_000

    @Test(arguments: ManifestKind.available)
    func fourWorkersCompleteEveryItemExactlyOnceEvenWhenOneIsKilled(_ kind: ManifestKind) async throws {
        let scratch = try await ScratchManifest.make(kind, maxAttempts: 5)
        defer { scratch.dir.remove() }
        let store = scratch.store
        let keys = (0..<Self.items).map { String(format: "item-%07d", $0) }
        for start in stride(from: 0, to: keys.count, by: 5000) {
            try await store.enqueue(queue: "q", items: keys[start..<min(start + 5000, keys.count)].map { ($0, "{}") })
        }
        // Worker 0 (400 ms a batch) starts alone, so it surely completes a batch and holds the
        // next however busy the machine is; it is killed then, and the other three (150 ms a
        // batch) start and must finish everything, its lost batch included once its lease runs out.
        func start(_ index: Int) throws -> Process {
            let process = Process()
            process.executableURL = Command.buildDirectory.appendingPathComponent("manifest-bench")
            process.arguments = [
                "worker", scratch.uri, "q", "worker-\(index)", scratch.dir.file("record-\(index)"), "100", "4000",
                index == 0 ? "400" : "150",
            ]
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            return process
        }
        // Kill -9 worker 0 once it has completed a batch and is seen holding the next one. What
        // it held is counted after it died: on a loaded machine this process can be descheduled
        // between seeing a claim and the kill, long enough for the worker to complete that batch
        // (CI saw it once); a worker 0 killed holding nothing is started again, up to 3 times.
        var workers: [Process] = []
        var holdingAtKill = 0
        for _ in 0..<3 where holdingAtKill == 0 {
            let worker = try start(0)
            var recorded = false
            while worker.isRunning {
                try await Task.sleep(for: .milliseconds(10))
                if !recorded {
                    recorded =
                        ((try? String(contentsOfFile: scratch.dir.file("record-0"), encoding: .utf8))?.count ?? 0) > 0
                    continue
                }
                if try await claimedCount(scratch, by: "worker-0") > 0 {
                    kill(worker.processIdentifier, SIGKILL)
                    break
                }
            }
            worker.waitUntilExit()
            holdingAtKill = try await claimedCount(scratch, by: "worker-0")
            workers = [worker]
        }
        for index in 1..<4 { workers.append(try start(index)) }
        #expect(workers[0].terminationReason == .uncaughtSignal, "worker 0 should have been killed")
        #expect(holdingAtKill > 0, "worker 0 should have been killed while holding claimed items")

        for worker in workers.dropFirst() {
            while worker.isRunning { try await Task.sleep(for: .milliseconds(50)) }
            #expect(worker.terminationStatus == 0)
        }
        let counts = try await store.queueCounts(queue: "q")
        #expect(counts[.completed] == Self.items, "\(counts)")
        #expect(counts[.claimed] == 0 && counts[.available] == 0 && counts[.dead] == 0)

        // Every key completed once: no key in two workers' records, and the records agree
        // with who the database says completed each item.
        var completedBy: [String: String] = [:]
        for index in 0..<4 {
            let text = (try? String(contentsOfFile: scratch.dir.file("record-\(index)"), encoding: .utf8)) ?? ""
            for key in text.split(separator: "\n") {
                #expect(
                    completedBy.updateValue("worker-\(index)", forKey: String(key)) == nil, "\(key) completed twice")
            }
        }
        let owners = try await completers(scratch)
        #expect(owners.count == Self.items)
        for (key, owner) in owners {
            if let recorded = completedBy[key] {
                #expect(recorded == owner, "\(key)")
            } else {
                // Completed by the killed worker just before it died, before it could record it.
                #expect(owner == "worker-0", "\(key) completed by \(owner) but in no record")
            }
        }
        // The killed worker's batch came back after its lease and was done by another worker.
        #expect(try await retriedCount(scratch) >= 1)
    }

    /// A worker killed on this host while holding a batch with a 5-minute lease: the next
    /// worker here sees the holder's process gone and takes the batch over at once, so the
    /// queue drains while the dead worker's lease would still have held it.
    @Test(arguments: ManifestKind.available)
    func aKilledWorkersClaimsComeBackAtOnceOnTheSameHost(_ kind: ManifestKind) async throws {
        let scratch = try await ScratchManifest.make(kind, maxAttempts: 5)
        defer { scratch.dir.remove() }
        let store = scratch.store
        try await store.enqueue(queue: "q", items: (0..<1000).map { (String(format: "item-%07d", $0), "{}") })
        func start(_ name: String, workMilliseconds: Int) throws -> Process {
            let process = Process()
            process.executableURL = Command.buildDirectory.appendingPathComponent("manifest-bench")
            process.arguments = [
                "worker", scratch.uri, "q", "auto", scratch.dir.file("record-\(name)"), "100", "300000",
                "\(workMilliseconds)",
            ]
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            return process
        }
        // 10 batches of 1 s: time enough to see it holding one even on a loaded machine (with
        // 0.4 s batches it once finished all of them while a build ran beside the test). A worker
        // seen holding a batch can still complete it before the kill lands (a loaded machine
        // once let it): then it held nothing when it died, and another is started and killed.
        var dead: WorkerIdentity?
        var held = 0
        for attempt in 1...3 where held == 0 {
            let first = try start("first-\(attempt)", workMilliseconds: 1000)
            var holders: [String] = []
            while first.isRunning {
                try await Task.sleep(for: .milliseconds(10))
                let recorded =
                    (try? String(contentsOfFile: scratch.dir.file("record-first-\(attempt)"), encoding: .utf8)) ?? ""
                holders = try await store.claimHolders(queue: "q")
                if !recorded.isEmpty, !holders.isEmpty {
                    kill(first.processIdentifier, SIGKILL)
                    break
                }
            }
            first.waitUntilExit()
            #expect(first.terminationReason == .uncaughtSignal, "the first worker should have been killed")
            let killed = try #require(holders.first.flatMap(WorkerIdentity.init(name:)))
            #expect(killed.pid == first.processIdentifier && killed.host == WorkerIdentity.current.host)
            #expect(killed.isKnownDead)
            dead = killed
            held = try await claimedCount(scratch, by: killed.description)
        }
        #expect(held > 0, "killed while holding a batch (3 tries)")
        let deadWorker = try #require(dead)

        let killedAt = ContinuousClock.now
        let second = try start("second", workMilliseconds: 0)
        // Its lease would hold the dead worker's batch for 300 s; the takeover makes that moot.
        while second.isRunning, ContinuousClock.now - killedAt < .seconds(150) {
            try await Task.sleep(for: .milliseconds(50))
        }
        if second.isRunning { second.terminate() }
        second.waitUntilExit()
        #expect(
            second.terminationReason == .exit && second.terminationStatus == 0, "the second worker drained the queue")
        let counts = try await store.queueCounts(queue: "q")
        #expect(counts[.completed] == 1000 && counts[.claimed] == 0, "\(counts)")
        #expect(try await claimedCount(scratch, by: deadWorker.description) == 0)
        #expect(try await store.claimHolders(queue: "q").isEmpty)
    }

    func claimedCount(_ scratch: ScratchManifest, by worker: String) async throws -> Int {
        try await scalar(
            scratch, "SELECT count(*) FROM work_items WHERE state = 'claimed' AND claimed_by = '\(worker)'")
    }

    func retriedCount(_ scratch: ScratchManifest) async throws -> Int {
        try await scalar(scratch, "SELECT count(*) FROM work_items WHERE attempts > 1 AND claimed_by <> 'worker-0'")
    }

    func scalar(_ scratch: ScratchManifest, _ sql: String) async throws -> Int {
        if scratch.uri.hasPrefix("sqlite://") {
            let database = try await SQLiteDatabase.open(path: String(scratch.uri.dropFirst("sqlite://".count)))
            return Int(try await database.query(sql).first?.first?.integer ?? -1)
        }
        let connection = try await PostgresConnection.connect(uri: Secret(scratch.uri))
        return Int(try await connection.query(sql).values.first?.first??.description ?? "-1") ?? -1
    }

    func completers(_ scratch: ScratchManifest) async throws -> [String: String] {
        var owners: [String: String] = [:]
        if scratch.uri.hasPrefix("sqlite://") {
            let database = try await SQLiteDatabase.open(path: String(scratch.uri.dropFirst("sqlite://".count)))
            for row in try await database.query("SELECT key, claimed_by FROM work_items WHERE state = 'completed'") {
                owners[row[0].blobText ?? ""] = row[1].text ?? ""
            }
        } else {
            let connection = try await PostgresConnection.connect(uri: Secret(scratch.uri))
            for row in try await connection.query(
                "SELECT convert_from(key, 'UTF8'), claimed_by FROM work_items WHERE state = 'completed'"
            ).values {
                owners[row[0] ?? ""] = row[1] ?? ""
            }
        }
        return owners
    }
}
