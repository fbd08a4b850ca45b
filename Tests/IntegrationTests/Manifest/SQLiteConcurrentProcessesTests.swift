import Foundation
import Synchronization
import TestSupport
import Testing

@testable import PipelineCommon

/// Several processes opening one fresh SQLite store at the same moment, as stages starting
/// together on the embedded default do: every one migrates at start, then works the queue.
@Suite("SQLite store opened by several processes at once")
struct SQLiteConcurrentProcessesTests {
    static let rounds = 20
    static let workers = 4
    static let items = 120

    @Test func freshStoresSurviveFourWorkersAndTwoMigratorsStartingTogether() async throws {
        for round in 0..<Self.rounds {
            let dir = try TemporaryDirectory()
            defer { dir.remove() }
            let path = dir.file("manifest.db")
            let environment = [
                "HOME": dir.path, "PIPELINE_MANIFEST_URL": "sqlite://" + path, "PIPELINE_LOG_LEVEL": "warning",
            ]
            // Every worker migrates, enqueues the same keys (each is queued once) and drains the
            // queue; two `pipelinectl migrate` start in the same instant.
            let results = try await withThrowingTaskGroup(of: (String, Command.Result).self) { group in
                for index in 0..<Self.workers {
                    group.addTask {
                        let result = try await Command.run(
                            "manifest-bench",
                            [
                                "worker", "sqlite://" + path, "q", "worker-\(index)", dir.file("record-\(index)"), "10",
                                "30000", "0", "\(Self.items)",
                            ], environment: environment)
                        return ("worker-\(index)", result)
                    }
                }
                for index in 0..<2 {
                    group.addTask {
                        (
                            "migrate-\(index)",
                            try await Command.run("pipelinectl", ["migrate"], environment: environment)
                        )
                    }
                }
                var all: [(String, Command.Result)] = []
                for try await result in group { all.append(result) }
                return all
            }
            for (name, result) in results {
                #expect(result.status == 0, "round \(round), \(name): \(result.stderr)")
            }
            var completedBy: [String: Int] = [:]
            for index in 0..<Self.workers {
                let text = (try? String(contentsOfFile: dir.file("record-\(index)"), encoding: .utf8)) ?? ""
                for key in text.split(separator: "\n") {
                    #expect(completedBy.updateValue(index, forKey: String(key)) == nil, "round \(round): \(key) twice")
                }
            }
            #expect(completedBy.count == Self.items, "round \(round)")
            let store = try await SQLiteManifestStore.open(path: path)
            let counts = try await store.queueCounts(queue: "q")
            #expect(
                counts[.completed] == Self.items && counts[.available, default: 0] == 0, "round \(round): \(counts)")
            #expect(try await store.schemaVersion() == SQLiteMigrations.all.map(\.version).max())
        }
    }

    @Test func aLockHeldPastTheTimeoutNamesTheStoreAndWhatToDo() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.file("manifest.db")
        let holder = try await SQLiteManifestStore.open(path: path)
        _ = try await holder.migrate()
        // Hold the write lock until a migrate that waits at most 1 s has ended (not for a fixed
        // time: on a loaded machine the process can take seconds just to start).
        let held = Atomic<Bool>(false)
        let release = Atomic<Bool>(false)
        let holding = Task {
            try await holder.database.transaction { db in
                try db.run("INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'held', 0)")
                held.store(true, ordering: .sequentiallyConsistent)
                let deadline = Date().addingTimeInterval(120)
                while !release.load(ordering: .sequentiallyConsistent), Date() < deadline {
                    Thread.sleep(forTimeInterval: 0.05)
                }
                try db.run("DELETE FROM schema_migrations WHERE version = 999")
            }
        }
        while !held.load(ordering: .sequentiallyConsistent) { try await Task.sleep(for: .milliseconds(10)) }
        let migrate = try await Command.run(
            "pipelinectl", ["migrate"],
            environment: [
                "HOME": dir.path, "PIPELINE_MANIFEST_URL": "sqlite://" + path, "PIPELINE_MANIFEST_LOCK_TIMEOUT": "1",
            ])
        release.store(true, ordering: .sequentiallyConsistent)
        try await holding.value
        #expect(migrate.status == 1)
        #expect(migrate.stderr.hasPrefix("pipelinectl: "), "\(migrate.stderr)")
        #expect(!migrate.stderr.contains("Error:"), "\(migrate.stderr)")
        #expect(migrate.stderr.contains("sqlite://\(path)"))
        #expect(migrate.stderr.contains("another process has held the database's lock"))
        #expect(migrate.stderr.contains("manifest.lock_timeout_seconds"))
    }
}
