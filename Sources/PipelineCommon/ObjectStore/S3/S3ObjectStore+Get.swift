import Foundation
import Logging
import NIOPosix
import Synchronization

extension S3ObjectStore {
    public func get(_ key: String, to path: String, range: Range<UInt64>?) async throws -> DownloadResult {
        try await get(key, to: path, range: range, progress: nil)
    }

    /// ``get(_:to:range:)`` reporting bytes received so far.
    ///
    /// A whole object is fetched with a ranged GET of its first part, which also tells its
    /// size (as the AWS CRT's auto-ranged GET does): an object of one part comes in that one
    /// request. For a larger one, the other parts start in parallel ranged GETs as soon as
    /// the first response's headers are in, with `If-Match` on its ETag so a concurrent
    /// overwrite cannot tear the file. The file is hashed front to back as the parts arrive
    /// (``InOrderFileDigest``), so little is left to hash after the last byte.
    public func get(
        _ key: String, to path: String, range: Range<UInt64>?, progress: (@Sendable (_ received: UInt64) -> Void)?
    ) async throws -> DownloadResult {
        if let range { return try await getRange(key, to: path, range: range, progress: progress) }
        let digest = InOrderFileDigest(path: path)
        let plan = OneShot<RestOfObject?>()
        let received = TransferredBytes(progress)
        do {
            async let firstResponse = firstPart(key, to: path, digest: digest, plan: plan, received: received)
            let rest = await plan.value
            async let restDone = downloadRest(key, to: path, rest, digest: digest, received: received)
            let response = try await firstResponse
            guard response.isSuccess else { throw failure(response, operation: "GetObject", key: key) }
            try checkLength(response, key: key)
            let total =
                response.status == 206
                ? Self.objectSize(contentRange: response.headers["Content-Range"]) ?? response.bytesWritten
                : response.bytesWritten
            // A retried first request may have met another version of the object.
            if let rest, total != rest.total || response.status != 206 || response.headers["ETag"] != rest.etag {
                throw ObjectStoreError(
                    kind: .integrity, operation: "GetObject", location: where_(key), code: "PreconditionFailed",
                    message: "the object changed while it was being downloaded; retry")
            }
            _ = try await restDone
            if rest == nil, total > response.bytesWritten {
                // The first response's headers did not announce more parts, but its body says so.
                try await downloadRest(
                    key, to: path,
                    RestOfObject(from: response.bytesWritten, total: total, etag: response.headers["ETag"]),
                    digest: digest, received: received)
            }
            // A retried first request, or a file that was there before, may be longer.
            guard truncate(path, off_t(total)) == 0 else {
                throw ObjectStoreError(
                    kind: .local, operation: "GetObject", location: where_(key),
                    message: "cannot size \(path): \(String(cString: strerror(errno)))")
            }
            return try await verified(key, path: path, digest: digest, size: total, headers: response.headers)
        } catch {
            unlink(path)
            throw error
        }
    }

    /// One GET into memory, stopped by the transfer once the body passes `limit` bytes (or
    /// 1 MiB, so that an error's XML body always fits) with `TooLargeForMemory`.
    public func data(_ key: String, limit: Int) async throws -> FetchedObject {
        let response = try await send(
            "GET", objectURL(key), sink: .memory(limit: max(limit, 1 << 20)), operation: "GetObject", key: key)
        guard response.isSuccess else { throw failure(response, operation: "GetObject", key: key) }
        guard response.body.count <= limit else {
            throw ObjectStoreError(
                kind: .local, operation: "GetObject", location: where_(key), code: ObjectStoreError.tooLargeForMemory,
                message: "\(response.body.count) bytes is more than the \(limit) to be read into memory")
        }
        if let expected = response.headers["Content-Length"].flatMap({ Int($0) }), expected != response.body.count {
            throw ObjectStoreError(
                kind: .integrity, operation: "GetObject", location: where_(key),
                message: "expected \(expected) bytes but received \(response.body.count)")
        }
        let info = info(key: key, headers: response.headers, size: UInt64(response.body.count))
        let body = response.body
        let sha256 = try await BlockingPools.files.runIfActive { Hex.encode(SHA256.hash(body)) }
        if let expected = info.sha256, expected != sha256 {
            throw ObjectStoreError(
                kind: .integrity, operation: "GetObject", location: where_(key),
                message: "stored SHA-256 \(expected) but received bytes hash to \(sha256)")
        }
        return FetchedObject(info: info, bytes: response.body, sha256: sha256)
    }

    /// The bytes of an object after its first part, as the first response's headers told them.
    struct RestOfObject: Sendable {
        var from: UInt64
        var total: UInt64
        var etag: String?
    }

    /// The first part of a whole-object GET. Its headers settle `plan`: the rest of the
    /// object when it has more parts, nil otherwise (also when the request fails).
    private func firstPart(
        _ key: String, to path: String, digest: InOrderFileDigest, plan: OneShot<RestOfObject?>,
        received: TransferredBytes
    ) async throws -> HTTPResponse {
        defer { plan.set(nil) }
        let partSize = multipart.partSize
        var response = try await send(
            "GET", objectURL(key), headers: ["Range": "bytes=0-\(partSize - 1)"],
            sink: .fileRegion(path: path, offset: 0, digest: digest), operation: "GetObject", key: key,
            progress: { _, now in received.streaming(UInt64(max(0, now))) },
            onHead: { status, headers in
                guard status == 206, let total = Self.objectSize(contentRange: headers["Content-Range"]) else { return }
                plan.set(total > partSize ? RestOfObject(from: partSize, total: total, etag: headers["ETag"]) : nil)
            })
        if response.status == 416 {
            // An empty object has no byte 0: ask for it whole.
            response = try await send(
                "GET", objectURL(key), sink: .fileRegion(path: path, offset: 0, digest: digest),
                operation: "GetObject", key: key)
        }
        return response
    }

    /// The object size in a Content-Range header (`bytes 0-9/1234`).
    static func objectSize(contentRange: String?) -> UInt64? {
        contentRange?.split(separator: "/").last.flatMap { UInt64($0) }
    }

    public func get(_ object: ObjectInfo, to path: String) async throws -> DownloadResult {
        try await get(object, to: path, progress: nil)
    }

    /// ``get(_:to:)-(ObjectInfo,_)`` reporting bytes received so far.
    ///
    /// An object of one part comes as ``get(_:to:range:progress:)`` fetches it. A larger one
    /// has all its parts requested at once (as boto3's `download_file` does after its HEAD),
    /// each with `If-Match` on the listed ETag, so the file cannot mix versions and a changed
    /// object fails at once.
    public func get(
        _ object: ObjectInfo, to path: String, progress: (@Sendable (_ received: UInt64) -> Void)?
    ) async throws -> DownloadResult {
        let key = object.key
        guard object.size > multipart.partSize else {
            return try asListed(try await get(key, to: path, range: nil, progress: progress), object, path: path)
        }
        let digest = InOrderFileDigest(path: path)
        let rest = RestOfObject(from: 0, total: object.size, etag: object.etag.isEmpty ? nil : "\"\(object.etag)\"")
        do {
            let heads = try await downloadRest(
                key, to: path, rest, digest: digest, received: TransferredBytes(progress))
            // Without an ETag to pin, the parts of two versions would still differ in theirs.
            guard let head = heads.first, Set(heads.map { $0["ETag"] ?? "" }).count == 1 else {
                throw ObjectStoreError(
                    kind: .integrity, operation: "GetObject", location: where_(key), code: "PreconditionFailed",
                    message: "the object changed while it was being downloaded; retry")
            }
            guard truncate(path, off_t(object.size)) == 0 else {
                throw ObjectStoreError(
                    kind: .local, operation: "GetObject", location: where_(key),
                    message: "cannot size \(path): \(String(cString: strerror(errno)))")
            }
            return try await verified(key, path: path, digest: digest, size: object.size, headers: head)
        } catch {
            unlink(path)
            throw error
        }
    }

    /// The download result once every byte is hashed, checked against the stored SHA-256.
    private func verified(_ key: String, path: String, digest: InOrderFileDigest, size: UInt64, headers: HTTPHeaders)
        async throws -> DownloadResult
    {
        if digest.needsCatchUp { try await BlockingPools.files.runIfActive { try digest.catchUp() } }
        guard let bytes = digest.finalize(length: size) else {
            throw ObjectStoreError(
                kind: .local, operation: "GetObject", location: where_(key),
                message: "\(path) was not hashed to its end")
        }
        let info = info(key: key, headers: headers, size: size)
        let sha256 = Hex.encode(bytes)
        if let expected = info.sha256, expected != sha256 {
            throw ObjectStoreError(
                kind: .integrity, operation: "GetObject", location: where_(key),
                message: "stored SHA-256 \(expected) but received bytes hash to \(sha256)")
        }
        return DownloadResult(info: info, bytesWritten: size, sha256: sha256)
    }

    /// Bytes `range` of `key` in one request, hashed as they stream in (not verified: the
    /// stored SHA-256 is of the whole object).
    private func getRange(
        _ key: String, to path: String, range: Range<UInt64>, progress: (@Sendable (_ received: UInt64) -> Void)?
    ) async throws -> DownloadResult {
        guard !range.isEmpty else {
            throw ObjectStoreError(
                kind: .service, operation: "GetObject", location: where_(key), code: "InvalidRange",
                message: "empty range")
        }
        let digest = InOrderFileDigest(path: path)
        let received = TransferredBytes(progress)
        let response = try await send(
            "GET", objectURL(key), headers: ["Range": "bytes=\(range.lowerBound)-\(range.upperBound - 1)"],
            sink: .file(path: path, digest: digest), operation: "GetObject", key: key,
            progress: { _, now in received.streaming(UInt64(max(0, now))) })
        guard response.isSuccess else { throw failure(response, operation: "GetObject", key: key) }
        do {
            try checkLength(response, key: key)
        } catch {
            unlink(path)
            throw error
        }
        let total =
            response.headers["Content-Range"].flatMap { $0.split(separator: "/").last.flatMap { UInt64($0) } }
            ?? response.bytesWritten
        // One request into an emptied file: every byte was hashed at the front as it came.
        return DownloadResult(
            info: info(key: key, headers: response.headers, size: total), bytesWritten: response.bytesWritten,
            sha256: Hex.encode(digest.finalize(length: response.bytesWritten) ?? []))
    }

    /// A body shorter or longer than its Content-Length is not what the server sent.
    private func checkLength(_ response: HTTPResponse, key: String) throws {
        if let expected = response.headers["Content-Length"].flatMap({ UInt64($0) }), expected != response.bytesWritten
        {
            throw ObjectStoreError(
                kind: .integrity, operation: "GetObject", location: where_(key),
                message: "expected \(expected) bytes but received \(response.bytesWritten)")
        }
    }

    /// Fetches `rest` of `key` (nothing when nil) into `path` in parallel parts, each handing
    /// its bytes to `digest` as they are written.
    @discardableResult
    private func downloadRest(
        _ key: String, to path: String, _ rest: RestOfObject?, digest: InOrderFileDigest, received: TransferredBytes
    ) async throws -> [HTTPHeaders] {
        guard let rest else { return [] }
        let partSize = multipart.partSize
        let offsets = Array(stride(from: rest.from, to: rest.total, by: Int(partSize)))
        return try await concurrentMap(count: offsets.count, limit: multipart.concurrency) { [self] index in
            let offset = offsets[index]
            let end = min(offset + partSize, rest.total)
            var headers: HTTPHeaders = ["Range": "bytes=\(offset)-\(end - 1)"]
            if let etag = rest.etag { headers.add("If-Match", etag) }
            let response = try await send(
                "GET", objectURL(key), headers: headers, sink: .fileRegion(path: path, offset: offset, digest: digest),
                operation: "GetObject", key: key)
            guard response.status == 206, response.bytesWritten == end - offset,
                Self.objectSize(contentRange: response.headers["Content-Range"]) == rest.total
            else {
                if response.status == 412 {
                    throw ObjectStoreError(
                        kind: .integrity, operation: "GetObject", location: where_(key), code: "PreconditionFailed",
                        message:
                            "the object is no longer the one with ETag \(rest.etag ?? "?"): it changed since it was listed or while it was being downloaded; retry",
                        status: 412)
                }
                throw response.isSuccess
                    ? ObjectStoreError(
                        kind: .integrity, operation: "GetObject", location: where_(key),
                        message:
                            "part at \(offset) came back with \(response.bytesWritten) bytes of an object of \(Self.objectSize(contentRange: response.headers["Content-Range"]).map(String.init) ?? "unknown size"), status \(response.status)"
                    )
                    : failure(response, operation: "GetObject", key: key)
            }
            received.add(end - offset)
            // This part may close the gap in front of the parts after it.
            if digest.needsCatchUp { try await BlockingPools.files.runIfActive { try digest.catchUp() } }
            return response.headers
        }
    }
}
