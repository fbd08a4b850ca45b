import Foundation

/// Where objects live: S3 or RustFS (``S3ObjectStore``), or a directory (``FileObjectStore``).
/// Both behave the same as seen by callers, as one contract test suite checks.
///
/// Keys are relative to the store's root: the prefix of `s3://bucket/prefix`, or the
/// directory of `file:///dir`. Listings are in UTF-8 byte order, as S3 returns them.
public protocol ObjectStore: Sendable {
    var location: ObjectStoreLocation { get }

    /// The object's metadata. Throws ``ObjectStoreError`` `.notFound` when there is none.
    func head(_ key: String) async throws -> ObjectInfo

    /// Writes the object (or `range` of it) to the file at `path`, computing its SHA-256 as
    /// the bytes stream in and checking it against the store's record for whole objects.
    func get(_ key: String, to path: String, range: Range<UInt64>?) async throws -> DownloadResult

    /// Writes the whole object that a listing or a head described to `path`, as
    /// ``get(_:to:range:)`` does, and fails with `.integrity` (code `PreconditionFailed`) when
    /// the object is no longer that one (another ETag or size): list it again. Knowing the
    /// size, a store can plan the whole download at once.
    func get(_ object: ObjectInfo, to path: String) async throws -> DownloadResult

    /// The whole object in memory, as ``get(_:to:range:)`` would write it to a file: hashed
    /// and checked against the store's record. For objects of at most `limit` bytes (a larger
    /// one fails with `.local`): images of a dataset's size, which a stage reads straight from
    /// memory rather than through a file of its own.
    func data(_ key: String, limit: Int) async throws -> FetchedObject

    /// Stores the file at `path` under `key`, streamed. `sha256` (hex) saves a pass when the
    /// caller already knows it; the store records it with the object either way.
    func put(_ key: String, fromFile path: String, contentType: String?, sha256: String?) async throws -> ObjectInfo

    /// Stores `data` under `key`.
    func put(_ key: String, data: Data, contentType: String?) async throws -> ObjectInfo

    /// Stores the objects together (the variants of one image) and returns once all of them are
    /// durable. An object whose key holds the same bytes already (a re-run) is left as it is
    /// (`written` false). The file store writes them all and syncs once; S3 puts them at once.
    func put(_ objects: [NewObject]) async throws -> [StoredObject]

    /// ``put(_:)`` without waiting for the objects to be durable: they are once ``sync()``
    /// returns. A stage puts each image's objects so and syncs once before it records the
    /// batch, instead of once an image.
    func putUnsynced(_ objects: [NewObject]) async throws -> [StoredObject]

    /// Makes every object put before it durable: the file store syncs its file system; an
    /// S3 PUT is durable when it returns, so there it does nothing.
    func sync() async throws

    /// One page of keys starting with `prefix`, after `startAfter`, in UTF-8 byte order.
    func list(
        prefix: String, delimiter: String?, startAfter: String?, continuation: String?, maxKeys: Int
    ) async throws -> ObjectListing

    /// Deletes `key`; deleting a missing key is not an error, as on S3.
    func delete(_ key: String) async throws

    /// Deletes many keys in as few requests as the store allows; returns the keys that failed.
    func delete(_ keys: [String]) async throws -> [String: ObjectStoreError]

    /// Copies `source` to `destination` inside the store, metadata included.
    func copy(_ source: String, to destination: String) async throws -> ObjectInfo
}

extension ObjectStore {
    public func putUnsynced(_ objects: [NewObject]) async throws -> [StoredObject] {
        try await put(objects)
    }

    public func sync() async throws {}

    /// Heads each key and puts the objects whose key holds other bytes, all at once.
    public func put(_ objects: [NewObject]) async throws -> [StoredObject] {
        try await concurrentMap(count: objects.count, limit: 8) { index in
            let object = objects[index]
            if let stored = try? await head(object.key), stored.size == UInt64(object.data.count),
                stored.sha256 == nil || stored.sha256 == object.sha256
            {
                return StoredObject(info: stored, written: false)
            }
            return StoredObject(
                info: try await put(object.key, data: object.data, contentType: object.contentType), written: true)
        }
    }

    public func get(_ key: String, to path: String) async throws -> DownloadResult {
        try await get(key, to: path, range: nil)
    }

    /// Gets the key whole, then compares it with `object`.
    public func get(_ object: ObjectInfo, to path: String) async throws -> DownloadResult {
        try asListed(try await get(object.key, to: path, range: nil), object, path: path)
    }

    /// `result` when it is the object that was listed (same size, and same ETag when one was
    /// listed); otherwise its file at `path` is removed and the error says to list it again.
    func asListed(_ result: DownloadResult, _ object: ObjectInfo, path: String) throws -> DownloadResult {
        guard result.bytesWritten == object.size, object.etag.isEmpty || result.info.etag == object.etag else {
            unlink(path)
            throw ObjectStoreError.changedSinceListed(
                object, now: (result.bytesWritten, result.info.etag), location: location.uri(of: object.key))
        }
        return result
    }

    /// Every object under `prefix` after `startAfter`, page by page.
    public func listAll(prefix: String = "", startAfter: String? = nil, pageSize: Int = 1000)
        -> AsyncThrowingStream<ObjectInfo, any Error>
    {
        AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    var token: String?
                    repeat {
                        let page = try await list(
                            prefix: prefix, delimiter: nil, startAfter: token == nil ? startAfter : nil,
                            continuation: token, maxKeys: pageSize)
                        for object in page.objects { continuation.yield(object) }
                        token = page.nextContinuation
                    } while token != nil
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}

/// UTF-8 byte order, the order S3 lists keys in (Swift's `<` on String is not).
extension String {
    func precedesInUTF8(_ other: String) -> Bool {
        utf8.lexicographicallyPrecedes(other.utf8)
    }
}
