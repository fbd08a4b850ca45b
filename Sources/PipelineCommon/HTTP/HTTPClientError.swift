/// A request that got no usable HTTP response. HTTP error statuses are not errors here:
/// they come back as an ``HTTPResponse`` for the caller (S3, MLflow) to interpret.
///
/// The URL is shown without passwords or signatures.
public struct HTTPClientError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        case couldNotConnect
        case hostNotFound
        case timedOut
        case connectionLost
        case tls
        case cancelled
        case responseTooLarge(limit: Int)
        case requestBodyUnreadable
        case responseFileUnwritable
        case invalidURL
        case other(code: Int)

        public var isRetryable: Bool {
            switch self {
            case .couldNotConnect, .hostNotFound, .timedOut, .connectionLost: true
            default: false
            }
        }

        var summary: String {
            switch self {
            case .couldNotConnect: "could not connect"
            case .hostNotFound: "host not found"
            case .timedOut: "timed out"
            case .connectionLost: "connection lost"
            case .tls: "TLS failure"
            case .cancelled: "cancelled"
            case .responseTooLarge(let limit): "response larger than \(limit) bytes"
            case .requestBodyUnreadable: "request body could not be read"
            case .responseFileUnwritable: "response could not be written to its file"
            case .invalidURL: "invalid URL"
            case .other(let code): "libcurl error \(code)"
            }
        }

        var hint: String {
            switch self {
            case .couldNotConnect: "check that the server is running and that the host and port are right"
            case .hostNotFound: "check the host name and DNS"
            case .timedOut: "the server is slow or unreachable; raise http.timeout_seconds or check the network"
            case .connectionLost: "the server closed the connection; check its logs"
            case .tls: "check the server certificate, or set http.ca_bundle to a CA file that signs it"
            case .cancelled: "the task was cancelled"
            case .responseTooLarge: "stream the response to a file instead"
            case .requestBodyUnreadable: "check that the file exists and is readable"
            case .responseFileUnwritable: "check free space and permissions of the output directory"
            case .invalidURL: "check the configured URL"
            case .other: "see the libcurl message"
            }
        }
    }

    public let kind: Kind
    public let method: String
    /// The request URL, redacted.
    public let url: String
    public let attempts: Int
    /// libcurl's own message, e.g. "Failed to connect to 127.0.0.1 port 9 after 0 ms: Couldn't connect to server".
    public let detail: String

    public var description: String {
        let tries = attempts > 1 ? " after \(attempts) attempts" : ""
        return "\(method) \(url) failed\(tries): \(kind.summary) (\(detail)); \(kind.hint)"
    }
}
