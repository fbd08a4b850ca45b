import Foundation
import Logging
import PipelineCommon

// PUT and GET through this project's S3 client, timed; the peers (boto3, boto3 with the AWS
// CRT, s5cmd) do the same. Usage: object-store-bench <endpoint> <bucket> <prefix> <work-dir>
// (credentials from AWS_* env). Prints one JSON object: seconds per phase, this process's
// CPU seconds per phase as `<phase>_client_cpu`, and with BENCH_SERVER_PID the server's as
// `<phase>_server_cpu`. Phases: small_put_c1/small_get_c1 (1 KiB objects one at a time),
// small_put/small_get (BENCH_CONCURRENCY at once, 16 by default), large_put/large_get
// (BENCH_LARGE_COUNT objects of BENCH_LARGE_MIB), large_put_known, large_get_key, and
// huge_put/huge_get (one object of BENCH_HUGE_MIB, 1024 by default).

let arguments = CommandLine.arguments
guard arguments.count == 5, let endpoint = URL(string: arguments[1]) else {
    FileHandle.standardError.write(Data("usage: object-store-bench ENDPOINT BUCKET PREFIX WORKDIR\n".utf8))
    exit(2)
}
let bucket = arguments[2]
let prefix = arguments[3]
let work = arguments[4]
let environment = ProcessInfo.processInfo.environment
var logger = Logger(label: "object-store-bench")
logger.logLevel = environment["BENCH_DEBUG"] == nil ? .warning : .debug

let smallCount = Int(environment["BENCH_SMALL_COUNT"] ?? "") ?? 2000
let largeCount = Int(environment["BENCH_LARGE_COUNT"] ?? "") ?? 4
let largeSize = (Int(environment["BENCH_LARGE_MIB"] ?? "") ?? 64) << 20
let concurrency = Int(environment["BENCH_CONCURRENCY"] ?? "") ?? 16
let hugeSize = (Int(environment["BENCH_HUGE_MIB"] ?? "") ?? 1024) << 20

let store = S3ObjectStore(
    bucket: bucket, prefix: prefix, endpoint: endpoint, region: environment["AWS_REGION"] ?? "us-east-1",
    credentials: AWSCredentials(
        accessKeyId: environment["AWS_ACCESS_KEY_ID"] ?? "", secretAccessKey: environment["AWS_SECRET_ACCESS_KEY"] ?? ""
    ),
    http: HTTPClient(logger: logger),
    multipart: .init(
        threshold: UInt64(Int(environment["BENCH_THRESHOLD_MIB"] ?? "") ?? 16) << 20,
        partSize: UInt64(Int(environment["BENCH_PART_MIB"] ?? "") ?? 16) << 20,
        concurrency: Int(environment["BENCH_PART_CONCURRENCY"] ?? "") ?? 4),
    logger: logger)

let serverPID = environment["BENCH_SERVER_PID"].flatMap { Int($0) }
var results: [String: Double] = [:]

/// CPU seconds (user + system) the server process has used so far.
func serverCPU() -> Double? {
    guard let serverPID, let stat = try? String(contentsOfFile: "/proc/\(serverPID)/stat", encoding: .utf8),
        let close = stat.lastIndex(of: ")")
    else { return nil }
    // Fields after the command name: state is field 3, utime 14 and stime 15.
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
    return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
}

/// CPU seconds (user + system) this process has used so far.
func clientCPU() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
        + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}

/// Phases to run (`BENCH_PHASES`, a comma list such as `large_put,large_get`); all by default.
let phases = environment["BENCH_PHASES"].map { Set($0.split(separator: ",").map(String.init)) }

@MainActor func timed(_ phase: String, _ body: () async throws -> Void) async throws {
    guard phases?.contains(phase) ?? true else { return }
    let cpuBefore = serverCPU()
    let clientBefore = clientCPU()
    let start = ContinuousClock.now
    try await body()
    let elapsed = ContinuousClock.now - start
    results[phase] = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    results[phase + "_client_cpu"] = clientCPU() - clientBefore
    if let cpuBefore, let cpuAfter = serverCPU() { results[phase + "_server_cpu"] = cpuAfter - cpuBefore }
}

/// Runs `operation` for indices 0..<count, `limit` at a time.
func forEach(_ count: Int, limit: Int = concurrency, _ operation: @escaping @Sendable (Int) async throws -> Void)
    async throws
{
    _ = try await concurrentMap(count: count, limit: limit, operation)
}

try FileManager.default.createDirectory(atPath: work + "/get", withIntermediateDirectories: true)
let small = Data((0..<1024).map { UInt8(truncatingIfNeeded: $0 &* 31) })

try await timed("small_put_c1") {
    try await forEach(smallCount, limit: 1) { index in
        _ = try await store.put("small-c1/\(index)", data: small, contentType: nil)
    }
}
try await timed("small_get_c1") {
    try await forEach(smallCount, limit: 1) { index in
        _ = try await store.get("small-c1/\(index)", to: "\(work)/get/small-c1-\(index)")
    }
}
try await timed("small_put") {
    try await forEach(smallCount) { index in _ = try await store.put("small/\(index)", data: small, contentType: nil) }
}
try await timed("small_get") {
    try await forEach(smallCount) { index in _ = try await store.get("small/\(index)", to: "\(work)/get/small-\(index)")
    }
}
var largeFiles: [(path: String, sha256: String)] = []
for index in 0..<largeCount {
    let path = "\(work)/large-\(index).bin"
    let random = FileHandle(forReadingAtPath: "/dev/urandom")!
    let bytes = try random.read(upToCount: largeSize)!
    try bytes.write(to: URL(fileURLWithPath: path))
    // The digest as a stage has it for what it uploads: computed as the bytes were made.
    largeFiles.append((path, Hex.encode(SHA256.hash(bytes))))
}
try await timed("large_put") {
    for (index, file) in largeFiles.enumerated() {
        _ = try await store.put("large/\(index)", fromFile: file.path, contentType: nil, sha256: nil)
    }
}
// Ingest uploads what it staged with the SHA-256 it computed while staging: no hashing pass first.
try await timed("large_put_known") {
    for (index, file) in largeFiles.enumerated() {
        _ = try await store.put("large-known/\(index)", fromFile: file.path, contentType: nil, sha256: file.sha256)
    }
}
// As boto3's download_file: a HEAD for the size and ETag, then every part at once.
try await timed("large_get") {
    for index in 0..<largeCount {
        let object = try await store.head("large/\(index)")
        _ = try await store.get(object, to: "\(work)/get/large-\(index)")
    }
}
// The key alone: its first part tells the size, and the other parts start on its headers.
try await timed("large_get_key") {
    for index in 0..<largeCount {
        _ = try await store.get("large/\(index)", to: "\(work)/get/large-key-\(index)")
    }
}
// One large object, as a video, an archive or a model file.
if phases?.contains("huge_put") ?? true || phases?.contains("huge_get") ?? true {
    let path = "\(work)/huge.bin"
    let random = FileHandle(forReadingAtPath: "/dev/urandom")!
    FileManager.default.createFile(atPath: path, contents: nil)
    let out = FileHandle(forWritingAtPath: path)!
    var written = 0
    while written < hugeSize {
        let chunk = try random.read(upToCount: min(64 << 20, hugeSize - written))!
        try out.write(contentsOf: chunk)
        written += chunk.count
    }
    try out.close()
    try await timed("huge_put") {
        _ = try await store.put("huge/0", fromFile: path, contentType: nil, sha256: nil)
    }
    try await timed("huge_get") {
        let object = try await store.head("huge/0")
        _ = try await store.get(object, to: "\(work)/get/huge-0")
    }
    try? FileManager.default.removeItem(atPath: path)
    try? FileManager.default.removeItem(atPath: "\(work)/get/huge-0")
}
let json = try JSONSerialization.data(withJSONObject: results, options: [.sortedKeys])
print(String(decoding: json, as: UTF8.self))
