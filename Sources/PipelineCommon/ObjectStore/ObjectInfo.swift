import Foundation

/// What a store knows about one object.
public struct ObjectInfo: Sendable, Equatable, Codable {
    /// The key relative to the store's root (its configured prefix or directory).
    public let key: String
    public let size: UInt64
    /// The ETag without quotes: it changes with the bytes. S3 gives the MD5 of the bytes for
    /// single-part uploads; the file store the first 128 bits of their SHA-256.
    public let etag: String
    public let lastModified: Date?
    /// Hex SHA-256 of the bytes, when the store recorded it.
    public let sha256: String?
    public let contentType: String?

    public init(key: String, size: UInt64, etag: String, lastModified: Date?, sha256: String?, contentType: String?) {
        self.key = key
        self.size = size
        self.etag = etag
        self.lastModified = lastModified
        self.sha256 = sha256
        self.contentType = contentType
    }
}

/// One page of a listing, as ListObjectsV2 returns it.
public struct ObjectListing: Sendable, Equatable {
    public let objects: [ObjectInfo]
    /// With a delimiter: the distinct key prefixes up to and including it.
    public let commonPrefixes: [String]
    /// Pass as `continuation` to get the next page; nil on the last page.
    public let nextContinuation: String?
}

/// The result of a download: the object as the store described it, and what was written.
public struct DownloadResult: Sendable, Equatable {
    public let info: ObjectInfo
    public let bytesWritten: UInt64
    /// Hex SHA-256 of the bytes written.
    public let sha256: String
}

/// A whole object read into memory (``ObjectStore/data(_:limit:)``).
public struct FetchedObject: Sendable {
    public let info: ObjectInfo
    public let bytes: Data
    /// Hex SHA-256 of `bytes`.
    public let sha256: String

    public init(info: ObjectInfo, bytes: Data, sha256: String) {
        self.info = info
        self.bytes = bytes
        self.sha256 = sha256
    }
}

/// One object for ``ObjectStore/put(_:)``: its key and its bytes in memory.
public struct NewObject: Sendable {
    public let key: String
    public let data: Data
    public let contentType: String?

    public init(key: String, data: Data, contentType: String?) {
        self.key = key
        self.data = data
        self.contentType = contentType
    }

    /// Hex SHA-256 of `data`, computed on each use.
    public var sha256: String { Hex.encode(SHA256.hash(data)) }
}

/// What ``ObjectStore/put(_:)`` did with one object: `written`, or left alone because its key
/// held the same bytes already.
public struct StoredObject: Sendable {
    public let info: ObjectInfo
    public let written: Bool
}
