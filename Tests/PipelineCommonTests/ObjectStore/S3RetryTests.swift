import Foundation
import Logging
import Synchronization
import TestSupport
import Testing

@testable import PipelineCommon

@Suite("S3 requests retried on 503 SlowDown and dropped connections, never on 403")
struct S3RetryTests {
    static let ok = ScriptedTCPServer.Step.respond(status: 200, headers: [("ETag", "\"abc\"")], body: "")
    static let slowDown = ScriptedTCPServer.Step.respond(
        status: 503, headers: [("Content-Type", "application/xml")],
        body:
            "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message><RequestId>R1</RequestId></Error>"
    )

    func store(_ server: ScriptedTCPServer, multipart: S3ObjectStore.Multipart = .init()) -> S3ObjectStore {
        let logger = Logger(label: "s3-retry-tests")
        return S3ObjectStore(
            bucket: "bucket", prefix: "p/", endpoint: server.url, region: "us-east-1",
            credentials: AWSCredentials(accessKeyId: "AKIATEST", secretAccessKey: "test-secret"),
            http: HTTPClient(
                configuration: .init(
                    connectTimeout: .seconds(2), timeout: .seconds(5),
                    retryPolicy: RetryPolicy(maxAttempts: 5, baseDelay: .milliseconds(10), maxDelay: .milliseconds(50))),
                logger: logger),
            multipart: multipart, logger: logger)
    }

    @Test func succeedsAfterSlowDowns() async throws {
        let server = try ScriptedTCPServer(script: [Self.slowDown, Self.slowDown], fallback: Self.ok)
        defer { server.stop() }
        let info = try await store(server).put("a.jpg", data: Data("x".utf8), contentType: "image/jpeg")
        #expect(info.etag == "abc")
        #expect(server.requests.withLock { $0 }.count == 3)
        #expect(server.requests.withLock { $0 }.allSatisfy { $0 == "PUT /bucket/p/a.jpg HTTP/1.1" })
    }

    @Test func succeedsAfterDroppedConnections() async throws {
        let server = try ScriptedTCPServer(script: [.drop, .drop], fallback: Self.ok)
        defer { server.stop() }
        _ = try await store(server).put("b.jpg", data: Data("x".utf8), contentType: nil)
        #expect(server.requests.withLock { $0 }.count == 3)
    }

    @Test func failsAtOnceOn403() async throws {
        let denied = ScriptedTCPServer.Step.respond(
            status: 403, headers: [],
            body:
                "<Error><Code>AccessDenied</Code><Message>Access Denied</Message><RequestId>REQ123</RequestId></Error>")
        let server = try ScriptedTCPServer(script: [], fallback: denied)
        defer { server.stop() }
        await #expect {
            _ = try await store(server).put("c.jpg", data: Data("x".utf8), contentType: nil)
        } throws: { error in
            guard let failure = error as? ObjectStoreError else { return false }
            let text = "\(failure)"
            return failure.kind == .accessDenied && failure.requestId == "REQ123"
                && text.contains("s3://bucket/p/c.jpg")
                && !text.contains("test-secret")
        }
        #expect(server.requests.withLock { $0 }.count == 1)
    }

    @Test func givesUpAfterTheLastAttemptWithTheServersCode() async throws {
        let server = try ScriptedTCPServer(script: [], fallback: Self.slowDown)
        defer { server.stop() }
        await #expect {
            _ = try await store(server).head("d.jpg")
        } throws: { error in
            // HEAD has no body: the code comes from the status.
            (error as? ObjectStoreError)?.status == 503
        }
        #expect(server.requests.withLock { $0 }.count == 5)
    }

    @Test func aMultipartGetCutOffMidBodyIsRetriedAndHashedWhole() async throws {
        // Three 5 MiB ranges; the first answer to each is cut off halfway through its body, as
        // a dropped connection would leave it. The front part's retry starts its hash over;
        // the others keep what they hashed, since If-Match pins the bytes.
        let data = (0..<(11 << 20) + 1000).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 11) }
        let sha256 = Hex.encode(SHA256.hash(data))
        let answered = Mutex<Set<String>>([])
        let ifMatch = Mutex<[String]>([])
        let server = try ScriptedTCPServer { head in
            let lines = head.split(separator: "\r\n").map(String.init)
            func header(_ name: String) -> String? {
                lines.first { $0.lowercased().hasPrefix(name + ":") }.map {
                    String($0.dropFirst(name.count + 1)).trimmingCharacters(in: .whitespaces)
                }
            }
            guard let range = header("range"), range.hasPrefix("bytes="),
                case let bounds = range.dropFirst(6).split(separator: "-").compactMap({ Int($0) }), bounds.count == 2
            else { return .drop }
            let start = bounds[0]
            let end = min(bounds[1] + 1, data.count)
            if start > 0 { ifMatch.withLock { $0.append(header("if-match") ?? "none") } }
            let first = answered.withLock { $0.insert(range).inserted }
            return .respondBytes(
                status: 206,
                headers: [
                    ("Content-Range", "bytes \(start)-\(end - 1)/\(data.count)"), ("ETag", "\"v1\""),
                    ("x-amz-meta-sha256", sha256),
                ],
                body: Array(data[start..<end]), cutAfter: first ? (end - start) / 2 : nil)
        }
        defer { server.stop() }
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.file("big.bin")
        let store = store(server, multipart: .init(threshold: 5 << 20, partSize: 5 << 20, concurrency: 2))
        let result = try await store.get("big.bin", to: path)
        #expect(result.sha256 == sha256)
        #expect(result.bytesWritten == UInt64(data.count))
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data(data))
        #expect(server.requests.withLock { $0 }.count == 6, "each of the three ranges twice")
        #expect(ifMatch.withLock { $0 } == Array(repeating: "\"v1\"", count: 4))
    }
}
