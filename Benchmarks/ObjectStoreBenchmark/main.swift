import Foundation
import Logging
import PipelineCommon

// PUT and GET through this project's S3 client, timed; the boto3 peer does the same.
// Usage: object-store-bench <endpoint> <bucket> <prefix> <work-dir>   (credentials from AWS_* env)
// Prints one JSON object: seconds per phase.

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
let concurrency = Int(environment["BENCH_CONCURRENCY"] ?? "") ?? 8

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

func timed(_ body: () async throws -> Void) async throws -> Double {
    let start = ContinuousClock.now
    try await body()
    let elapsed = ContinuousClock.now - start
    return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
}

/// Runs `operation` for indices 0..<count, `concurrency` at a time.
func forEach(_ count: Int, _ operation: @escaping @Sendable (Int) async throws -> Void) async throws {
    _ = try await concurrentMap(count: count, limit: concurrency, operation)
}

try FileManager.default.createDirectory(atPath: work + "/get", withIntermediateDirectories: true)
let small = Data((0..<1024).map { UInt8(truncatingIfNeeded: $0 &* 31) })
var results: [String: Double] = [:]

results["small_put"] = try await timed {
    try await forEach(smallCount) { index in _ = try await store.put("small/\(index)", data: small, contentType: nil) }
}
results["small_get"] = try await timed {
    try await forEach(smallCount) { index in _ = try await store.get("small/\(index)", to: "\(work)/get/small-\(index)")
    }
}
var largeFiles: [String] = []
for index in 0..<largeCount {
    let path = "\(work)/large-\(index).bin"
    let random = FileHandle(forReadingAtPath: "/dev/urandom")!
    try random.read(upToCount: largeSize)!.write(to: URL(fileURLWithPath: path))
    largeFiles.append(path)
}
results["large_put"] = try await timed {
    for (index, path) in largeFiles.enumerated() {
        _ = try await store.put("large/\(index)", fromFile: path, contentType: nil, sha256: nil)
    }
}
results["large_get"] = try await timed {
    for index in 0..<largeCount {
        _ = try await store.get("large/\(index)", to: "\(work)/get/large-\(index)")
    }
}
let json = try JSONSerialization.data(withJSONObject: results, options: [.sortedKeys])
print(String(decoding: json, as: UTF8.self))
