import Foundation

/// One HTTP request as the client sends it.
public struct HTTPRequest: Sendable {
    /// Where the request body comes from. Files are streamed, never loaded whole.
    public enum Body: Sendable {
        case empty
        case bytes(Data)
        /// `length` bytes of the file at `path` starting at `offset` (the rest of the file when nil).
        case file(path: String, offset: UInt64 = 0, length: UInt64? = nil)
    }

    public var method: String
    public var url: URL
    public var headers: HTTPHeaders
    public var body: Body
    /// Overrides the client's total timeout for this request.
    public var timeout: Duration?
    /// Overrides the client's retry policy for this request (e.g. `.never` for a non-idempotent call).
    public var retryPolicy: RetryPolicy?
    /// Called from the transfer thread with bytes sent and received so far; keep it cheap.
    public var progress: (@Sendable (_ sent: Int64, _ received: Int64) -> Void)?
    /// Called from the transfer thread when a final (not 1xx) response's status and headers
    /// are in, before its body: to start work that needs only them. Again for each retry.
    public var onResponseHead: (@Sendable (_ status: Int, _ headers: HTTPHeaders) -> Void)?

    public init(
        method: String = "GET", url: URL, headers: HTTPHeaders = [:], body: Body = .empty,
        timeout: Duration? = nil, retryPolicy: RetryPolicy? = nil,
        progress: (@Sendable (_ sent: Int64, _ received: Int64) -> Void)? = nil,
        onResponseHead: (@Sendable (_ status: Int, _ headers: HTTPHeaders) -> Void)? = nil
    ) {
        self.progress = progress
        self.onResponseHead = onResponseHead
        self.method = method.uppercased()
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
        self.retryPolicy = retryPolicy
    }
}

/// Where the response body goes.
public enum HTTPResponseSink: Sendable {
    /// Collected in memory, failing the request when it grows past `limit` bytes.
    case memory(limit: Int = 64 << 20)
    /// Streamed to a file, created or truncated, and fsynced. Error responses (status ≥ 300)
    /// are kept in memory instead, so the file only ever holds a successful body. The bytes
    /// are handed to `digest` as they are written.
    case file(path: String, digest: InOrderFileDigest? = nil)
    /// Written into the file at `offset` (created if missing, never truncated), and
    /// fsynced, for downloading the parts of one object in parallel. The bytes are handed to
    /// `digest` as they are written, so the whole file can be hashed while its parts arrive.
    case fileRegion(path: String, offset: UInt64, digest: InOrderFileDigest? = nil)
}
