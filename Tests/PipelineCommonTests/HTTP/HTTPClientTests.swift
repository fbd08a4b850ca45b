import Foundation
import Logging
import TestSupport
import Testing

@testable import PipelineCommon

@Suite("HTTPClient against a real local HTTP server")
struct HTTPClientTests {
    static let logger = Logger(label: "http-client-tests")

    static func client(attempts: Int = 4, timeout: Duration = .seconds(10)) -> HTTPClient {
        HTTPClient(
            configuration: .init(
                connectTimeout: .seconds(2), timeout: timeout,
                retryPolicy: RetryPolicy(
                    maxAttempts: attempts, baseDelay: .milliseconds(20), maxDelay: .milliseconds(200))),
            logger: logger)
    }

    @Test func getsAndReusesTheConnection() async throws {
        try await TestHTTPServer.with { server in
            let client = Self.client()
            let first = try await client.execute(HTTPRequest(url: server.url("/hello")))
            #expect(first.status == 200)
            #expect(first.text == "hello")
            #expect(first.attempts == 1)
            let second = try await client.execute(HTTPRequest(url: server.url("/hello")))
            #expect(second.text == "hello")
            #expect(second.newConnections == 0, "the second request should reuse the pooled connection")
        }
    }

    @Test func putsAFileStreamedAndStreamsTheResponseToAFile() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let upload = dir.file("upload.bin")
        let bytes = Data((0..<(5 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) })
        try bytes.write(to: URL(fileURLWithPath: upload))
        try await TestHTTPServer.with { server in
            let client = Self.client()
            let put = try await client.execute(
                HTTPRequest(method: "PUT", url: server.url("/echo"), body: .file(path: upload)))
            #expect(put.status == 200)
            #expect(put.text == "\(bytes.count) \(Hex.encode(SHA256.hash(bytes)))")

            // A range of the file: bytes 1000..<3000.
            let part = try await client.execute(
                HTTPRequest(
                    method: "PUT", url: server.url("/echo"), body: .file(path: upload, offset: 1000, length: 2000)))
            #expect(part.text == "2000 \(Hex.encode(SHA256.hash(bytes[1000..<3000])))")

            let download = dir.file("download.bin")
            let get = try await client.execute(
                HTTPRequest(url: server.url("/bytes/3000000")), sink: .file(path: download))
            #expect(get.status == 200)
            #expect(get.bytesWritten == 3_000_000)
            #expect(get.body.isEmpty)
            let expected = Data((0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) })
            #expect(try Data(contentsOf: URL(fileURLWithPath: download)) == expected)
        }
    }

    @Test func anErrorBodyNeverLandsInTheOutputFile() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try await TestHTTPServer.with { server in
            let path = dir.file("out.bin")
            let response = try await Self.client().execute(
                HTTPRequest(url: server.url("/forbidden")), sink: .file(path: path))
            #expect(response.status == 403)
            #expect(response.text.contains("AccessDenied"))
            #expect(!FileManager.default.fileExists(atPath: path))
        }
    }

    @Test func retriesA503ThenSucceeds() async throws {
        try await TestHTTPServer.with { server in
            let response = try await Self.client().execute(HTTPRequest(url: server.url("/flaky/a/2/503")))
            #expect(response.status == 200)
            #expect(response.text == "ok after 3")
            #expect(response.attempts == 3)
        }
    }

    @Test func retriesA429HonouringRetryAfter() async throws {
        try await TestHTTPServer.with { server in
            let start = ContinuousClock.now
            let response = try await Self.client().execute(HTTPRequest(url: server.url("/flaky/b/1/429?retry_after=1")))
            #expect(response.status == 200)
            #expect(response.attempts == 2)
            #expect(ContinuousClock.now - start >= .seconds(1), "Retry-After: 1 must be waited for")
        }
    }

    @Test func returnsTheLast503WhenAttemptsRunOut() async throws {
        try await TestHTTPServer.with { server in
            let response = try await Self.client(attempts: 3).execute(HTTPRequest(url: server.url("/flaky/c/10/503")))
            #expect(response.status == 503)
            #expect(response.attempts == 3)
            #expect(server.count("flaky/c") == 3)
        }
    }

    @Test func neverRetriesA403() async throws {
        try await TestHTTPServer.with { server in
            let response = try await Self.client().execute(HTTPRequest(url: server.url("/forbidden")))
            #expect(response.status == 403)
            #expect(response.attempts == 1)
            #expect(server.count("forbidden") == 1)
        }
    }

    @Test func honoursTheTotalTimeout() async throws {
        try await TestHTTPServer.with { server in
            let start = ContinuousClock.now
            let error = await #expect(throws: HTTPClientError.self) {
                _ = try await Self.client(attempts: 1, timeout: .milliseconds(300))
                    .execute(HTTPRequest(url: server.url("/slow/8000")))
            }
            #expect(error?.kind == .timedOut)
            // Cut short by the 300 ms timeout, not served after 8 s (a loose bound: CI machines are busy).
            #expect(ContinuousClock.now - start < .seconds(6))
        }
    }

    @Test func reportsConnectionRefusedClearly() async throws {
        // Bind a port and close it again so that nothing listens there.
        let port = try closedPort()
        let error = await #expect(throws: HTTPClientError.self) {
            _ = try await Self.client(attempts: 2).execute(HTTPRequest(url: URL(string: "http://127.0.0.1:\(port)/x")!))
        }
        #expect(error?.kind == .couldNotConnect)
        #expect(error?.attempts == 2)
        let text = error.map { "\($0)" } ?? ""
        #expect(text.contains("127.0.0.1:\(port)"))
        #expect(text.contains("could not connect"))
        #expect(text.contains("check that the server is running"))
    }

    @Test func retriesAnUnresolvableHostAndSaysSo() async throws {
        // `.invalid` never resolves (RFC 6761). Every retry must fail the same way: a handle
        // reused after a failed lookup once made libcurl refuse its options instead.
        let error = await #expect(throws: HTTPClientError.self) {
            _ = try await Self.client(attempts: 3).execute(
                HTTPRequest(
                    method: "PUT", url: URL(string: "http://pipeline-test.invalid/x")!, body: .bytes(Data("x".utf8))))
        }
        #expect(error?.kind == .hostNotFound)
        #expect(error?.attempts == 3)
        #expect(error.map { "\($0)" }?.contains("check the host name and DNS") == true)
    }

    @Test func cancellingTheTaskAbortsTheTransfer() async throws {
        try await TestHTTPServer.with { server in
            let client = Self.client(attempts: 1)
            // The response would take 15 s; an aborted transfer ends well before. The margin is
            // wide because a loaded 2-core machine once took 3.5 s to wind the transfer down.
            let task = Task { try await client.execute(HTTPRequest(url: server.url("/slow/15000"))) }
            try await Task.sleep(for: .milliseconds(200))
            let start = ContinuousClock.now
            task.cancel()
            await #expect(throws: CancellationError.self) { _ = try await task.value }
            #expect(ContinuousClock.now - start < .seconds(10))
        }
    }

    @Test func refusesAResponseLargerThanTheMemoryLimit() async throws {
        try await TestHTTPServer.with { server in
            let error = await #expect(throws: HTTPClientError.self) {
                _ = try await Self.client().execute(
                    HTTPRequest(url: server.url("/bytes/100000")), sink: .memory(limit: 1000))
            }
            #expect(error?.kind == .responseTooLarge(limit: 1000))
        }
    }

    @Test func errorsNeverShowSignaturesOrPasswords() async throws {
        let port = try closedPort()
        let url = URL(string: "http://user:hunter2@127.0.0.1:\(port)/k?X-Amz-Signature=abcdef123&X-Amz-Expires=60")!
        let error = await #expect(throws: HTTPClientError.self) {
            _ = try await Self.client(attempts: 1).execute(HTTPRequest(url: url))
        }
        let text = error.map { "\($0)" } ?? ""
        #expect(!text.contains("hunter2"))
        #expect(!text.contains("abcdef123"))
        #expect(text.contains("X-Amz-Expires=60"))
    }

    @Test func backoffStaysWithinItsBounds() {
        let policy = RetryPolicy(maxAttempts: 10, baseDelay: .milliseconds(100), maxDelay: .seconds(2))
        var random = SystemRandomNumberGenerator()
        for attempt in 1...10 {
            let ceiling = min(Duration.seconds(2), .milliseconds(100) * (1 << (attempt - 1)))
            for _ in 0..<20 {
                let delay = policy.backoff(afterAttempt: attempt, using: &random)
                #expect(delay >= .zero && delay <= ceiling)
            }
        }
        #expect(RetryPolicy.isRetryable(status: 503))
        #expect(RetryPolicy.isRetryable(status: 429))
        #expect(!RetryPolicy.isRetryable(status: 403))
        #expect(!RetryPolicy.isRetryable(status: 404))
        #expect(HTTPClient.parseRetryAfter("7") == .seconds(7))
        #expect(HTTPClient.parseRetryAfter("soon") == nil)
    }
}
