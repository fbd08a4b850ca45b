import Foundation
import Logging
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

    func store(_ server: ScriptedTCPServer) -> S3ObjectStore {
        let logger = Logger(label: "s3-retry-tests")
        return S3ObjectStore(
            bucket: "bucket", prefix: "p/", endpoint: server.url, region: "us-east-1",
            credentials: AWSCredentials(accessKeyId: "AKIATEST", secretAccessKey: "test-secret"),
            http: HTTPClient(
                configuration: .init(
                    connectTimeout: .seconds(2), timeout: .seconds(5),
                    retryPolicy: RetryPolicy(maxAttempts: 5, baseDelay: .milliseconds(10), maxDelay: .milliseconds(50))),
                logger: logger),
            logger: logger)
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
}
