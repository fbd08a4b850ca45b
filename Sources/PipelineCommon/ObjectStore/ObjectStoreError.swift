/// A failed object-store operation: what kind, which operation on which object, the
/// store's own code and request id. Never a secret or a signature.
public struct ObjectStoreError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        case notFound
        case noSuchBucket
        case invalidCredentials
        case accessDenied
        case invalidKey
        /// The bytes do not match the size or checksum the store recorded.
        case integrity
        case service
        case transport
        case local
    }

    public let kind: Kind
    /// The code of ``ObjectStore/data(_:limit:)``'s refusal of an object past its limit.
    public static let tooLargeForMemory = "TooLargeForMemory"
    public let operation: String
    /// `s3://bucket/key` or `file:///dir/key`.
    public let location: String
    /// The store's error code (e.g. `NoSuchKey`, `SignatureDoesNotMatch`), when it gave one.
    public let code: String?
    public let message: String
    public let requestId: String?
    public let status: Int?
    /// The access key id the request was signed with, for a refusal (AccessDenied, a bad
    /// signature): which key to grant or fix. An id, never its secret.
    public var accessKeyId: String?

    public init(
        kind: Kind, operation: String, location: String, code: String? = nil, message: String,
        requestId: String? = nil, status: Int? = nil
    ) {
        self.kind = kind
        self.operation = operation
        self.location = location
        self.code = code
        self.message = message
        self.requestId = requestId
        self.status = status
    }

    /// The object at `location` is no longer the one listed: another size or ETag.
    static func changedSinceListed(_ listed: ObjectInfo, now: (size: UInt64, etag: String), location: String)
        -> ObjectStoreError
    {
        ObjectStoreError(
            kind: .integrity, operation: "GetObject", location: location, code: "PreconditionFailed",
            message:
                "the object changed since it was listed (listed \(listed.size) bytes, ETag \(listed.etag); now \(now.size) bytes, ETag \(now.etag)); list it again",
            status: 412)
    }

    public var description: String {
        var text = "\(operation) \(location) failed"
        if let code { text += ": \(code)" }
        if !message.isEmpty { text += (code == nil ? ": " : " (") + message + (code == nil ? "" : ")") }
        if let status { text += " [HTTP \(status)]" }
        if let requestId { text += " [request id \(requestId)]" }
        if let hint { text += "; \(hint)" }
        return text
    }

    var hint: String? {
        switch kind {
        case .notFound: "check the key"
        case .noSuchBucket: "create the bucket or fix object_store.url"
        case .invalidCredentials:
            "check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or the profile) for this endpoint"
                + (accessKeyId.map { " (signed with key id \($0))" } ?? "")
        case .accessDenied:
            accessKeyId.map { "grant the key \($0) access to the bucket and prefix" }
                ?? "grant this key access to the bucket and prefix"
        case .invalidKey: nil
        case .integrity: "the transfer was corrupted; retry it"
        case .service, .transport, .local: nil
        }
    }
}
