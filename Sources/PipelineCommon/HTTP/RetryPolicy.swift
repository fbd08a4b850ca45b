/// When and how long to wait before trying a request again: exponential backoff with full
/// jitter, and a server's `Retry-After` honoured up to `maxRetryAfter`.
///
/// Connection errors, timeouts, 5xx and 429 are retried; other 4xx never are.
public struct RetryPolicy: Sendable, Equatable {
    public var maxAttempts: Int
    public var baseDelay: Duration
    public var maxDelay: Duration
    /// A `Retry-After` longer than this is not waited for: the response is returned as is.
    public var maxRetryAfter: Duration

    public init(
        maxAttempts: Int = 5, baseDelay: Duration = .milliseconds(100), maxDelay: Duration = .seconds(20),
        maxRetryAfter: Duration = .seconds(60)
    ) {
        self.maxAttempts = max(1, maxAttempts)
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
        self.maxRetryAfter = maxRetryAfter
    }

    /// One attempt, no retries.
    public static let never = RetryPolicy(maxAttempts: 1)

    /// Whether a response status is worth another attempt.
    public static func isRetryable(status: Int) -> Bool {
        status == 429 || (500...599).contains(status) && status != 501
    }

    /// The wait before attempt `attempt + 1`, after `attempt` failed attempts (1-based),
    /// drawn uniformly from [0, min(maxDelay, baseDelay·2^(attempt-1))].
    public func backoff(afterAttempt attempt: Int, using random: inout some RandomNumberGenerator) -> Duration {
        let exponent = min(attempt - 1, 30)
        let ceiling = min(maxDelay, baseDelay * (1 << exponent))
        let seconds = Double(ceiling.components.seconds) + Double(ceiling.components.attoseconds) / 1e18
        return .milliseconds(Int(Double.random(in: 0...seconds, using: &random) * 1000))
    }
}
