import Foundation
import Logging
import Metrics
import NIOPosix

/// The project's one HTTP client, over libcurl.
///
/// - Connections are reused: each pooled easy handle keeps its connection cache.
/// - Every blocking libcurl call runs on ``BlockingPools/network``, never on Swift's
///   cooperative pool; cancelling the calling task aborts the transfer.
/// - Bodies stream from and to files; TLS verification is always on.
/// - Connection errors, timeouts, 5xx and 429 are retried with exponential backoff and
///   jitter, honouring `Retry-After`; other 4xx never are.
public final class HTTPClient: Sendable {
    public struct Configuration: Sendable {
        public var connectTimeout: Duration
        public var timeout: Duration
        public var retryPolicy: RetryPolicy
        /// Extra trusted CAs (PEM); the system store is used otherwise.
        public var caBundle: String?
        public var userAgent: String
        /// Easy handles (so connection caches) kept between requests.
        public var maxIdleHandles: Int

        public init(
            connectTimeout: Duration = .seconds(10), timeout: Duration = .seconds(300),
            retryPolicy: RetryPolicy = RetryPolicy(), caBundle: String? = nil,
            userAgent: String = "image-pipeline/0.1", maxIdleHandles: Int = 32
        ) {
            self.connectTimeout = connectTimeout
            self.timeout = timeout
            self.retryPolicy = retryPolicy
            self.caBundle = caBundle
            self.userAgent = userAgent
            self.maxIdleHandles = maxIdleHandles
        }

        /// The client settings of a loaded pipeline configuration.
        public init(_ http: PipelineConfiguration.HTTP) {
            self.init(
                connectTimeout: http.connectTimeout, timeout: http.timeout,
                retryPolicy: RetryPolicy(maxAttempts: http.maxAttempts), caBundle: http.caBundle)
        }
    }

    public let configuration: Configuration
    private let handles: CurlEasyHandlePool
    private let pool: NIOThreadPool
    private let logger: Logger

    public init(
        configuration: Configuration = Configuration(), logger: Logger,
        threadPool: NIOThreadPool = BlockingPools.network
    ) {
        self.configuration = configuration
        self.handles = CurlEasyHandlePool(maxIdle: configuration.maxIdleHandles)
        self.pool = threadPool
        self.logger = logger
    }

    /// libcurl's version line, e.g. "libcurl/7.88.1 OpenSSL/3.0.19 zlib/1.2.13".
    public static var libcurlVersion: String { CurlGlobal.version }

    /// Sends `request`, retrying as its policy allows, and returns the final response.
    ///
    /// - Throws: ``HTTPClientError`` when no HTTP response could be had.
    public func execute(_ request: HTTPRequest, sink: HTTPResponseSink = .memory()) async throws -> HTTPResponse {
        let policy = request.retryPolicy ?? configuration.retryPolicy
        let settings = TransferSettings(
            connectTimeout: configuration.connectTimeout, timeout: configuration.timeout,
            caBundle: configuration.caBundle, userAgent: configuration.userAgent)
        let shownURL = Redaction.url(request.url.absoluteString)
        let started = ContinuousClock.now
        var random = SystemRandomNumberGenerator()
        var attempt = 0
        while true {
            attempt += 1
            let outcome = try await perform(request, sink: sink, settings: settings)
            let delay: Duration?
            let reason: String
            switch outcome {
            case .response(let status, let headers, let body, let written, let connects):
                let retryAfter = headers["Retry-After"].flatMap(Self.parseRetryAfter)
                let retryable = RetryPolicy.isRetryable(status: status) && attempt < policy.maxAttempts
                if !retryable || (retryAfter.map { $0 > policy.maxRetryAfter } ?? false) {
                    record(request.method, outcome: "\(status / 100)xx", since: started)
                    return HTTPResponse(
                        status: status, headers: headers, body: body, bytesWritten: written, attempts: attempt,
                        newConnections: connects)
                }
                let backoff = policy.backoff(afterAttempt: attempt, using: &random)
                delay = max(backoff, retryAfter ?? .zero)
                reason = "HTTP \(status)"
            case .failure(let kind, let detail):
                guard kind.isRetryable, attempt < policy.maxAttempts else {
                    record(request.method, outcome: kind == .cancelled ? "cancelled" : "error", since: started)
                    if kind == .cancelled { throw CancellationError() }
                    throw HTTPClientError(
                        kind: kind, method: request.method, url: shownURL, attempts: attempt, detail: detail)
                }
                delay = policy.backoff(afterAttempt: attempt, using: &random)
                reason = kind.summary
            }
            Counter(label: "pipeline_http_client_retries_total", dimensions: [("method", request.method)]).increment()
            logger.notice(
                "retrying HTTP request",
                metadata: [
                    "method": "\(request.method)", "url": "\(shownURL)", "attempt": "\(attempt)",
                    "reason": "\(reason)", "delay_ms": "\(delay.map(Self.milliseconds) ?? 0)",
                ])
            if let delay { try await Task.sleep(for: delay) }
        }
    }

    private func perform(_ request: HTTPRequest, sink: HTTPResponseSink, settings: TransferSettings) async throws
        -> TransferOutcome
    {
        try Task.checkCancellation()
        let cancellation = TransferCancellation()
        let handles = self.handles
        return try await withTaskCancellationHandler {
            try await pool.runIfActive {
                guard let handle = handles.checkOut() else {
                    return TransferOutcome.failure(.other(code: -1), detail: "curl_easy_init failed")
                }
                let outcome = CurlTransfer.perform(
                    request, sink: sink, settings: settings, handle: handle, cancellation: cancellation)
                if case .failure = outcome {
                    handles.checkIn(handle, failed: true)
                } else {
                    handles.checkIn(handle)
                }
                return outcome
            }
        } onCancel: {
            cancellation.cancel()
        }
    }

    private func record(_ method: String, outcome: String, since start: ContinuousClock.Instant) {
        Counter(label: "pipeline_http_client_requests_total", dimensions: [("method", method), ("outcome", outcome)])
            .increment()
        Timer(label: "pipeline_http_client_request_duration_seconds", dimensions: [("method", method)])
            .recordInterval(since: start)
    }

    /// `Retry-After` as delta-seconds or an HTTP date.
    static func parseRetryAfter(_ value: String) -> Duration? {
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        if let seconds = Int(trimmed), seconds >= 0 { return .seconds(seconds) }
        guard let date = HTTPDate.parse(trimmed) else { return nil }
        return .milliseconds(max(0, Int(date.timeIntervalSinceNow * 1000)))
    }

    private static func milliseconds(_ duration: Duration) -> Int {
        Int(duration.components.seconds) * 1000 + Int(duration.components.attoseconds / 1_000_000_000_000_000)
    }
}
