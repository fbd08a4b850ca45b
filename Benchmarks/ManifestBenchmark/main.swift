import Foundation
import Logging
import PipelineCommon

// The manifest store under load, as separate processes would use it.
//
//   manifest-bench worker URL QUEUE WORKER-ID RECORD-FILE [BATCH] [LEASE-MS] [WORK-MS] [ENQUEUE]
//       migrates the store, enqueues items 0..<ENQUEUE (if given: every worker may enqueue the
//       same keys, each is queued once), claims batches until the queue is drained, "works"
//       WORK-MS per batch, completes them, and appends the keys it completed to RECORD-FILE
//       (one per line, fsynced). WORKER-ID "auto" names the worker as the stages do
//       (host, pid, start time), so its claims come back at once if it is killed.
//   manifest-bench enqueue URL QUEUE COUNT
//   manifest-bench publish URL COUNT        bulk publish vs single-row INSERT, rows/s as JSON

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("manifest-bench: \(message)\n".utf8))
    exit(2)
}

func openStore(_ url: String) async throws -> any ManifestStore {
    switch ManifestLocation.parse(url) {
    case .success(.postgres(let uri)): return PostgresManifestStore(uri: uri, poolSize: 2)
    case .success(.sqlite(let path)): return try await SQLiteManifestStore.open(path: path)
    case .failure(let error): fail(error.reason)
    }
}

func seconds(since start: ContinuousClock.Instant) -> Double {
    let elapsed = ContinuousClock.now - start
    return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
}

let arguments = CommandLine.arguments
guard arguments.count >= 3 else { fail("usage: manifest-bench worker|enqueue|publish URL …") }
let store: any ManifestStore
do {
    store = try await openStore(arguments[2])
    try await store.migrate()
} catch {
    FileHandle.standardError.write(Data("manifest-bench: \(error)\n".utf8))
    exit(1)
}

switch arguments[1] {
case "worker":
    guard arguments.count >= 6 else {
        fail("usage: manifest-bench worker URL QUEUE WORKER-ID RECORD-FILE [BATCH] [LEASE-MS] [WORK-MS] [ENQUEUE]")
    }
    let queue = arguments[3]
    let worker = arguments[4] == "auto" ? WorkerIdentity.current.description : arguments[4]
    let batch = arguments.count > 6 ? Int(arguments[6]) ?? 100 : 100
    let lease = Duration.milliseconds(arguments.count > 7 ? Int(arguments[7]) ?? 30_000 : 30_000)
    let work = Duration.milliseconds(arguments.count > 8 ? Int(arguments[8]) ?? 0 : 0)
    if arguments.count > 9, let count = Int(arguments[9]) {
        _ = try await store.enqueue(queue: queue, items: (0..<count).map { (String(format: "item-%07d", $0), "{}") })
    }
    _ = FileManager.default.createFile(atPath: arguments[5], contents: nil)
    guard let record = FileHandle(forWritingAtPath: arguments[5]) else { fail("cannot write \(arguments[5])") }
    var completed = 0
    while true {
        let claimed = try await store.claimBatch(queue: queue, worker: worker, limit: batch, lease: lease)
        if claimed.isEmpty {
            // Others may still hold claims that will expire and come back: wait for them, or
            // take them over at once from a process of this host that is gone.
            let counts = try await store.queueCounts(queue: queue)
            if counts[.available, default: 0] == 0, counts[.claimed, default: 0] == 0 { break }
            if try await !store.releaseClaimsOfDeadLocalWorkers(queue: queue).isEmpty { continue }
            try await Task.sleep(for: .milliseconds(100))
            continue
        }
        if work > .zero { try await Task.sleep(for: work) }
        let done = try await store.complete(queue: queue, worker: worker, keys: claimed.map(\.key))
        try record.write(contentsOf: Data(done.map { $0 + "\n" }.joined().utf8))
        try record.synchronize()
        completed += done.count
    }
    try record.close()
    print("{\"worker\":\"\(worker)\",\"completed\":\(completed)}")

case "enqueue":
    guard arguments.count >= 5, let count = Int(arguments[4]) else {
        fail("usage: manifest-bench enqueue URL QUEUE COUNT")
    }
    var added = 0
    for start in stride(from: 0, to: count, by: 5000) {
        added += try await store.enqueue(
            queue: arguments[3],
            items: (start..<min(start + 5000, count)).map { (String(format: "item-%07d", $0), "{}") })
    }
    print("{\"enqueued\":\(added)}")

case "publish":
    guard arguments.count >= 4, let count = Int(arguments[3]) else { fail("usage: manifest-bench publish URL COUNT") }
    let items = (0..<count).map { index in
        DatasetItem(
            sourceKey: String(format: "raw/%07d.jpg", index), sha256: String(repeating: "ab", count: 32),
            size: UInt64(100_000 + index), width: 4000, height: 3000, format: "jpeg",
            annotations: #"[{"bbox":[10,20,300,400],"category":"cat"}]"#)
    }
    var logger = Logger(label: "manifest-bench")
    logger.logLevel = .warning
    let bulkDraft = try await store.createDraft(
        name: "bench", stage: "bulk", parents: [], configHash: "b", config: "{}")
    var start = ContinuousClock.now
    for chunk in stride(from: 0, to: count, by: 20_000) {
        try await store.addItems(Array(items[chunk..<min(chunk + 20_000, count)]), to: bulkDraft.id)
    }
    _ = try await store.publish(
        draft: bulkDraft.id, as: "bulk-\(UUID().uuidString.prefix(8))", contentDigest: "-", manifestURI: "-")
    let bulk = seconds(since: start)
    // The baseline a first version would write: one parameterised INSERT per row, each its
    // own transaction (autocommit), on one connection.
    let singleDraft = try await store.createDraft(
        name: "bench", stage: "single", parents: [], configHash: "s", config: "{}")
    let sample = min(count, 5000)
    let insert = """
        INSERT INTO items (version_seq, source_key, sha256, size, width, height, format, annotations, variants, status)
        VALUES ((SELECT seq FROM dataset_versions WHERE id = %1), %2, %3, %4, %5, %6, %7, %8, '{}', 'ok')
        """
    start = ContinuousClock.now
    switch ManifestLocation.parse(arguments[2]) {
    case .success(.postgres(let uri)):
        let connection = try await PostgresConnection.connect(uri: uri)
        let sql = insert.replacingOccurrences(of: "%", with: "$").replacingOccurrences(
            of: "$2", with: "decode($2, 'hex')")
        for item in items.prefix(sample) {
            try await connection.query(
                sql,
                [
                    singleDraft.id, Hex.encode(item.sourceKey.utf8), item.sha256, "\(item.size)", "4000", "3000",
                    "jpeg", item.annotations,
                ])
        }
    case .success(.sqlite(let path)):
        let database = try await SQLiteDatabase.open(path: path)
        let sql = insert.replacingOccurrences(of: "%", with: "?")
        for item in items.prefix(sample) {
            try await database.query(
                sql,
                [
                    .text(singleDraft.id), .utf8(item.sourceKey), .text(item.sha256), .integer(Int64(item.size)),
                    .integer(4000),
                    .integer(3000), .text("jpeg"), .text(item.annotations),
                ])
        }
    case .failure(let error): fail(error.reason)
    }
    let single = seconds(since: start)
    print(
        "{\"bulk_rows_per_s\":\(Double(count) / bulk),\"single_rows_per_s\":\(Double(sample) / single),\"rows\":\(count),\"single_sample\":\(sample)}"
    )

default:
    fail("unknown mode \(arguments[1])")
}
