/// One object created or removed, as an S3 bucket notification reports it.
public struct ObjectEvent: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case created
        case removed
        /// Any other event name (restore, replication, tagging, …), kept as sent.
        case other(String)
    }

    public let kind: Kind
    /// The event name as sent, e.g. `ObjectCreated:Put` or `s3:ObjectCreated:CompleteMultipartUpload`.
    public let name: String
    public let bucket: String
    /// The object key, decoded (notifications send it URL-encoded).
    public let key: String
    public let size: UInt64?
    public let etag: String?
    /// Orders events for one key (hex, compared as strings of equal length).
    public let sequencer: String?
}
