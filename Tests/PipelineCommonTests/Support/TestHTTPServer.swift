import Foundation
import Hummingbird
import Logging
import NIOCore
import PipelineCommon
import ServiceLifecycle
import Synchronization

/// A real HTTP server on 127.0.0.1 and a free port, for testing the HTTP client: flaky,
/// slow, forbidden and echoing endpoints. Counts requests per path.
final class TestHTTPServer: Sendable {
    let hits = Mutex<[String: Int]>([:])
    private let port = Mutex<Int>(0)
    private let group = Mutex<ServiceGroup?>(nil)

    var baseURL: URL { URL(string: "http://127.0.0.1:\(port.withLock { $0 })")! }

    func url(_ path: String) -> URL { URL(string: baseURL.absoluteString + path)! }

    func count(_ key: String) -> Int { hits.withLock { $0[key] ?? 0 } }

    private func hit(_ key: String) -> Int {
        hits.withLock { counts in
            counts[key, default: 0] += 1
            return counts[key]!
        }
    }

    /// Runs `body` with the server listening, then shuts it down.
    static func with<T: Sendable>(_ body: @Sendable (TestHTTPServer) async throws -> T) async throws -> T {
        let server = TestHTTPServer()
        let router = Router()
        router.get("/hello") { _, _ in "hello" }
        router.put("/echo") { request, _ -> String in
            let body = try await request.body.collect(upTo: 64 << 20)
            let bytes = Data(buffer: body)
            return "\(bytes.count) \(Hex.encode(PipelineCommon.SHA256.hash(bytes)))"
        }
        router.get("/bytes/:count") { _, context -> Response in
            let count = context.parameters.get("count", as: Int.self) ?? 0
            var buffer = ByteBuffer()
            buffer.writeBytes((0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) })
            return Response(status: .ok, body: .init(byteBuffer: buffer))
        }
        // Fails the first `failures` requests for `key` with `status`, then answers 200.
        router.get("/flaky/:key/:failures/:status") { request, context -> Response in
            let key = context.parameters.get("key") ?? ""
            let failures = context.parameters.get("failures", as: Int.self) ?? 0
            let status = context.parameters.get("status", as: Int.self) ?? 503
            let attempt = server.hit("flaky/\(key)")
            guard attempt > failures else {
                var headers = HTTPFields()
                if let retryAfter = request.uri.queryParameters.get("retry_after") {
                    headers[.retryAfter] = retryAfter
                }
                return Response(
                    status: .init(code: status), headers: headers,
                    body: .init(byteBuffer: ByteBuffer(string: "<Error><Code>SlowDown</Code></Error>")))
            }
            return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "ok after \(attempt)")))
        }
        router.get("/forbidden") { _, _ -> Response in
            _ = server.hit("forbidden")
            return Response(
                status: .forbidden,
                body: .init(byteBuffer: ByteBuffer(string: "<Error><Code>AccessDenied</Code></Error>")))
        }
        router.get("/slow/:ms") { _, context -> String in
            let ms = context.parameters.get("ms", as: Int.self) ?? 0
            try await Task.sleep(for: .milliseconds(ms))
            return "finally"
        }
        router.get("/headers") { request, _ -> String in
            request.headers.map { "\($0.name.canonicalName): \($0.value)" }.sorted().joined(separator: "\n")
        }
        var logger = Logger(label: "test-http-server")
        logger.logLevel = .warning
        let (ready, readyContinuation) = AsyncStream<Int>.makeStream()
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in
                readyContinuation.yield(channel.localAddress?.port ?? 0)
                readyContinuation.finish()
            }, logger: logger)
        let group = ServiceGroup(services: [app], logger: logger)
        server.group.withLock { $0 = group }
        let running = Task { try await group.run() }
        var boundPort = 0
        for await port in ready { boundPort = port }
        server.port.withLock { $0 = boundPort }
        do {
            let result = try await body(server)
            await group.triggerGracefulShutdown()
            try await running.value
            return result
        } catch {
            await group.triggerGracefulShutdown()
            _ = try? await running.value
            throw error
        }
    }
}
