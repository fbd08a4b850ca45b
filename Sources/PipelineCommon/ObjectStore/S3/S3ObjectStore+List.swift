import Foundation
import Logging
import NIOPosix
import Synchronization

extension S3ObjectStore {
    public func list(
        prefix listPrefix: String, delimiter: String?, startAfter: String?, continuation: String?, maxKeys: Int
    ) async throws -> ObjectListing {
        var query = [("list-type", "2"), ("encoding-type", "url"), ("max-keys", "\(max(1, min(maxKeys, 1000)))")]
        query.append(("prefix", fullKey(listPrefix)))
        if let delimiter { query.append(("delimiter", delimiter)) }
        if let startAfter { query.append(("start-after", fullKey(startAfter))) }
        if let continuation { query.append(("continuation-token", continuation)) }
        let url = bucketURL(query: Self.queryString(query))
        let response = try await send("GET", url, operation: "ListObjectsV2", key: listPrefix)
        guard response.isSuccess else { throw failure(response, operation: "ListObjectsV2", key: listPrefix) }
        guard let listing = Self.listing(from: response.body, prefix: prefix) else {
            throw ObjectStoreError(
                kind: .service, operation: "ListObjectsV2", location: where_(listPrefix),
                message: "the response is not a ListBucketResult")
        }
        return listing
    }

    /// A ListObjectsV2 page, its keys relative to the store's `prefix`; nil when `body` is not a
    /// ListBucketResult.
    static func listing(from body: Data, prefix: String) -> ObjectListing? {
        guard let root = S3XMLElement.parse(body), root.name == "ListBucketResult" else { return nil }
        let encoded = root.value("EncodingType") == "url"
        func decode(_ text: String) -> String { encoded ? Self.formDecode(text) : text }
        let objects = root.all("Contents").map { entry in
            ObjectInfo(
                key: String(decode(entry.value("Key") ?? "").dropFirst(prefix.count)),
                size: UInt64(entry.value("Size") ?? "") ?? 0, etag: Self.unquote(entry.value("ETag") ?? ""),
                lastModified: entry.value("LastModified").flatMap(HTTPDate.parseISO8601), sha256: nil, contentType: nil)
        }
        let prefixes = root.all("CommonPrefixes").compactMap { $0.value("Prefix") }.map {
            String(decode($0).dropFirst(prefix.count))
        }
        let truncated = root.value("IsTruncated") == "true"
        return ObjectListing(
            objects: objects, commonPrefixes: prefixes,
            nextContinuation: truncated ? root.value("NextContinuationToken") : nil)
    }

    /// S3's `encoding-type=url` is form encoding: `+` is a space, `%2B` a plus.
    static func formDecode(_ text: String) -> String {
        URIEncoding.percentDecode(text.replacingOccurrences(of: "+", with: " "))
    }
}
