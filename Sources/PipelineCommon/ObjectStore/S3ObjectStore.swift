import Foundation
import Logging
import NIOPosix
import Synchronization

/// An S3 bucket and prefix (`s3://bucket/prefix`) on AWS S3, RustFS, MinIO or any
/// S3-compatible server, over the project's libcurl client with SigV4 signing.
///
/// Path-style addressing for custom endpoints, virtual-hosted on AWS. Uploads are signed
/// with the payload's SHA-256 (so the server verifies the bytes) and record it as
/// `x-amz-meta-sha256`; objects over the multipart threshold go up in parallel parts, with
/// bounded memory, each part also carrying its CRC-32 as the AWS SDKs send it, and the
/// upload is aborted on any failure so nothing is left behind. Downloads are verified
/// against `x-amz-meta-sha256`.
public struct S3ObjectStore: ObjectStore {
    public struct Multipart: Sendable {
        /// Objects of at least this many bytes are uploaded in parts.
        public var threshold: UInt64
        /// Bytes a part (at least 5 MiB, S3's minimum for all but the last part).
        public var partSize: UInt64
        /// Parts in flight at once; memory used is about `partSize × concurrency`.
        public var concurrency: Int

        public init(threshold: UInt64 = 64 << 20, partSize: UInt64 = 16 << 20, concurrency: Int = 4) {
            self.threshold = threshold
            self.partSize = max(partSize, 5 << 20)
            self.concurrency = max(1, concurrency)
        }
    }

    public let bucket: String
    /// Key prefix every key is relative to: empty or ending in `/`.
    public let prefix: String
    public let endpoint: URL
    public let virtualHosted: Bool
    public let signer: SigV4Signer
    public let multipart: Multipart
    private let http: HTTPClient
    private let logger: Logger

    public var location: ObjectStoreLocation { .s3(bucket: bucket, prefix: prefix) }

    public init(
        bucket: String, prefix: String = "", endpoint: URL?, region: String,
        addressing: PipelineConfiguration.ObjectStore.Addressing = .auto, credentials: AWSCredentials,
        http: HTTPClient, multipart: Multipart = Multipart(), logger: Logger
    ) {
        self.bucket = bucket
        self.prefix = prefix.isEmpty || prefix.hasSuffix("/") ? prefix : prefix + "/"
        // The configuration admits only region names that make a host name (ConfigKey.Kind.region);
        // anything else falls back to the global endpoint rather than trapping.
        self.endpoint =
            endpoint ?? URL(string: "https://s3.\(region).amazonaws.com") ?? URL(string: "https://s3.amazonaws.com")!
        switch addressing {
        case .path: virtualHosted = false
        case .virtual: virtualHosted = true
        case .auto:
            // A dotted bucket name breaks the TLS wildcard of virtual-hosted names, as the SDKs know.
            virtualHosted = endpoint == nil && !bucket.contains(".")
        }
        self.signer = SigV4Signer(credentials: credentials, region: region)
        self.multipart = multipart
        self.http = http
        self.logger = logger
    }

    // MARK: - URLs

    func fullKey(_ key: String) -> String { prefix + key }

    private var base: String {
        var components = URLComponents(url: endpoint, resolvingAgainstBaseURL: false)!
        if virtualHosted { components.host = bucket + "." + (components.host ?? "") }
        components.path = ""
        components.query = nil
        return components.string ?? endpoint.absoluteString
    }

    func objectURL(_ key: String, query: String = "") -> URL {
        let path = (virtualHosted ? "/" : "/\(bucket)/") + URIEncoding.encode(fullKey(key), keepSlash: true)
        return URL(string: base + path + (query.isEmpty ? "" : "?" + query))!
    }

    func bucketURL(query: String) -> URL {
        URL(string: base + (virtualHosted ? "/" : "/\(bucket)") + "?" + query)!
    }

    private func where_(_ key: String?) -> String { "s3://\(bucket)/" + (key.map(fullKey) ?? prefix) }

    // MARK: - Requests

    private func send(
        _ method: String, _ url: URL, headers: HTTPHeaders = [:], body: HTTPRequest.Body = .empty,
        payloadHash: String = SigV4Signer.emptyPayloadHash, sink: HTTPResponseSink = .memory(),
        operation: String, key: String?, progress: (@Sendable (Int64, Int64) -> Void)? = nil,
        onHead: (@Sendable (Int, HTTPHeaders) -> Void)? = nil, largeBody: Bool = false
    ) async throws -> HTTPResponse {
        var signed = signer.signHeaders(method: method, url: url, headers: headers, payloadHash: payloadHash)
        if largeBody {
            // As botocore does for bodies of 1 MiB and more: the server can refuse the request (a
            // bad signature, a redirect, SlowDown) before the body is sent, and takes it when it
            // is ready to. Not signed, as the SDKs leave it, since proxies may drop it.
            signed.add("Expect", "100-continue")
        }
        do {
            return try await http.execute(
                HTTPRequest(
                    method: method, url: url, headers: signed, body: body, progress: progress, onResponseHead: onHead),
                sink: sink)
        } catch let error as HTTPClientError {
            if case .responseTooLarge = error.kind {
                // A body past a memory sink's limit: the caller streams to a file instead.
                throw ObjectStoreError(
                    kind: .local, operation: operation, location: where_(key), code: ObjectStoreError.tooLargeForMemory,
                    message: "\(error)")
            }
            throw ObjectStoreError(
                kind: .transport, operation: operation, location: where_(key), message: "\(error)")
        }
    }

    private func failure(_ response: HTTPResponse, operation: String, key: String?) -> ObjectStoreError {
        let body = S3ErrorBody(response.body)
        let code = body.code ?? Self.codeForBodylessStatus(response.status)
        let kind: ObjectStoreError.Kind =
            switch code {
            case "NoSuchKey", "NotFound": .notFound
            case "NoSuchBucket": .noSuchBucket
            case "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken", "InvalidClientTokenId":
                .invalidCredentials
            case "AccessDenied", "Forbidden": .accessDenied
            case "XAmzContentSHA256Mismatch", "BadDigest", "InvalidDigest": .integrity
            default: .service
            }
        var error = ObjectStoreError(
            kind: kind, operation: operation, location: where_(key), code: code, message: body.message ?? "",
            requestId: body.requestId ?? response.headers["x-amz-request-id"], status: response.status)
        if kind == .accessDenied || kind == .invalidCredentials { error.accessKeyId = signer.credentials.accessKeyId }
        return error
    }

    /// HEAD responses carry no body: name the error from the status as the SDKs do.
    static func codeForBodylessStatus(_ status: Int) -> String {
        switch status {
        case 404: "NotFound"
        case 403: "Forbidden"
        case 301, 307: "PermanentRedirect"
        default: "HTTP\(status)"
        }
    }

    // MARK: - ObjectStore

    public func head(_ key: String) async throws -> ObjectInfo {
        let response = try await send("HEAD", objectURL(key), operation: "HeadObject", key: key)
        guard response.isSuccess else { throw failure(response, operation: "HeadObject", key: key) }
        return info(
            key: key, headers: response.headers, size: response.headers["Content-Length"].flatMap { UInt64($0) })
    }

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

    public func put(_ key: String, fromFile path: String, contentType: String?, sha256: String?) async throws
        -> ObjectInfo
    {
        try await put(key, fromFile: path, contentType: contentType, sha256: sha256, progress: nil)
    }

    /// ``put(_:fromFile:contentType:sha256:)`` reporting bytes sent so far.
    public func put(
        _ key: String, fromFile path: String, contentType: String?, sha256: String?,
        progress: (@Sendable (_ sent: UInt64) -> Void)?
    ) async throws -> ObjectInfo {
        var status = stat()
        guard stat(path, &status) == 0 else {
            throw ObjectStoreError(
                kind: .local, operation: "PutObject", location: where_(key),
                message: "cannot read \(path): \(String(cString: strerror(errno)))")
        }
        let size = UInt64(status.st_size)
        if size >= multipart.threshold {
            return try await multipartUpload(
                key, path: path, size: size, contentType: contentType, sha256: sha256?.lowercased(),
                progress: progress)
        }
        let digest: String
        if let sha256 {
            digest = sha256.lowercased()
        } else {
            digest = try await BlockingPools.files.runIfActive { Hex.encode(try SHA256.hash(fileAtPath: path)) }
        }
        var transferProgress: (@Sendable (Int64, Int64) -> Void)?
        if let progress {
            transferProgress = { sent, _ in progress(UInt64(max(0, sent))) }
        }
        return try await putObject(
            key, body: .file(path: path), size: size, contentType: contentType, sha256: digest,
            progress: transferProgress)
    }

    public func put(_ key: String, data: Data, contentType: String?) async throws -> ObjectInfo {
        // An image (up to 32 MiB staged in memory) is hashed on a blocking pool, not on the
        // cooperative one; a manifest or a small JSON body right here.
        let sha256 =
            data.count < 1 << 16
            ? Hex.encode(SHA256.hash(data))
            : try await BlockingPools.files.runIfActive { Hex.encode(SHA256.hash(data)) }
        return try await putObject(
            key, body: .bytes(data), size: UInt64(data.count), contentType: contentType, sha256: sha256,
            progress: nil)
    }

    private func putObject(
        _ key: String, body: HTTPRequest.Body, size: UInt64, contentType: String?, sha256: String,
        progress: (@Sendable (Int64, Int64) -> Void)?
    ) async throws -> ObjectInfo {
        let type = contentType ?? "application/octet-stream"
        let headers: HTTPHeaders = ["Content-Type": type, "x-amz-meta-sha256": sha256]
        let response = try await send(
            "PUT", objectURL(key), headers: headers, body: body, payloadHash: sha256, operation: "PutObject", key: key,
            progress: progress, largeBody: size >= Self.largeBody)
        guard response.isSuccess else { throw failure(response, operation: "PutObject", key: key) }
        return ObjectInfo(
            key: key, size: size, etag: Self.unquote(response.headers["ETag"] ?? ""), lastModified: nil,
            sha256: sha256, contentType: type)
    }

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

    public func delete(_ key: String) async throws {
        let response = try await send("DELETE", objectURL(key), operation: "DeleteObject", key: key)
        guard response.isSuccess || response.status == 404 else {
            throw failure(response, operation: "DeleteObject", key: key)
        }
    }

    public func delete(_ keys: [String]) async throws -> [String: ObjectStoreError] {
        var failures: [String: ObjectStoreError] = [:]
        var start = 0
        while start < keys.count {
            let batch = keys[start..<min(start + 1000, keys.count)]
            start += batch.count
            let body =
                "<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Quiet>true</Quiet>"
                + batch.map { "<Object><Key>\(S3XMLElement.escape(fullKey($0)))</Key></Object>" }.joined() + "</Delete>"
            let data = Data(body.utf8)
            let headers: HTTPHeaders = [
                "Content-Type": "application/xml", "Content-MD5": Data(MD5.hash(data)).base64EncodedString(),
            ]
            let response = try await send(
                "POST", bucketURL(query: "delete="), headers: headers, body: .bytes(data),
                payloadHash: Hex.encode(SHA256.hash(data)), operation: "DeleteObjects", key: nil)
            guard response.isSuccess else { throw failure(response, operation: "DeleteObjects", key: nil) }
            for error in S3XMLElement.parse(response.body)?.all("Error") ?? [] {
                let key = String((error.value("Key") ?? "").dropFirst(prefix.count))
                failures[key] = ObjectStoreError(
                    kind: .service, operation: "DeleteObjects", location: where_(key), code: error.value("Code"),
                    message: error.value("Message") ?? "")
            }
        }
        return failures
    }

    public func copy(_ source: String, to destination: String) async throws -> ObjectInfo {
        let headers: HTTPHeaders = [
            "x-amz-copy-source": "/\(bucket)/" + URIEncoding.encode(fullKey(source), keepSlash: true)
        ]
        let response = try await send(
            "PUT", objectURL(destination), headers: headers, operation: "CopyObject", key: source)
        // CopyObject can fail after its 200 status line: the error is then in the body.
        guard response.isSuccess, S3XMLElement.parse(response.body)?.name != "Error" else {
            throw failure(response, operation: "CopyObject", key: source)
        }
        return try await head(destination)
    }

    // MARK: - Presigned URLs

    /// A URL anyone can use to `GET` (or `PUT`) `key` until it expires (at most 7 days).
    public func presignedURL(
        for key: String, method: String = "GET", expires: Duration = .seconds(3600), date: Date = Date()
    )
        throws -> URL
    {
        guard expires > .zero, expires <= .seconds(7 * 86_400) else {
            throw ObjectStoreError(
                kind: .service, operation: "Presign", location: where_(key),
                message: "expiry must be between 1 second and 7 days")
        }
        return signer.presign(method: method, url: objectURL(key), expires: expires, date: date)
    }

    // MARK: - Multipart upload

    /// Multipart uploads under this store's prefix that were started and neither completed
    /// nor aborted: (key, upload id).
    public func pendingMultipartUploads() async throws -> [(key: String, uploadId: String)] {
        let url = bucketURL(query: Self.queryString([("uploads", ""), ("prefix", prefix)]))
        let response = try await send("GET", url, operation: "ListMultipartUploads", key: nil)
        guard response.isSuccess else { throw failure(response, operation: "ListMultipartUploads", key: nil) }
        return (S3XMLElement.parse(response.body)?.all("Upload") ?? []).map {
            (String(($0.value("Key") ?? "").dropFirst(prefix.count)), $0.value("UploadId") ?? "")
        }
    }

    /// The upload declares CRC-32 checksums (`x-amz-checksum-algorithm`) and each part
    /// carries its own, which S3 checks as the part arrives and keeps as the object's
    /// composite checksum: this is the AWS SDKs' default, and without it S3 (and moto) compute
    /// a full-object CRC-64 over the assembled object when it completes.
    ///
    /// Each part's SHA-256 signs its request. When the caller did not give the whole file's
    /// SHA-256 (for the metadata), the parts' are computed on one pool thread while another
    /// computes it, so parts can go as soon as the upload is created; otherwise each part
    /// hashes itself as its turn comes. Parts are streamed from the file, so memory stays at
    /// libcurl's buffers whatever the part size.
    private func multipartUpload(
        _ key: String, path: String, size: UInt64, contentType: String?, sha256 known: String?,
        progress: (@Sendable (UInt64) -> Void)?
    ) async throws -> ObjectInfo {
        let partSize = multipart.partSize
        let parts = stride(from: UInt64(0), to: size, by: Int(partSize)).map { $0..<min($0 + partSize, size) }
        // Without the caller's SHA-256, one pool thread hashes the whole file for the metadata
        // while another hashes the parts in order, handing each over as it is done.
        let handedOver = known == nil ? parts.map { _ in OneShot<Result<PartDigest, any Error>>() } : []
        async let partsHashed: Void = hashParts(key, path: path, parts: parts, into: handedOver)
        let sha256: String
        if let known {
            sha256 = known
        } else {
            sha256 = try await BlockingPools.files.runIfActive { Hex.encode(try SHA256.hash(fileAtPath: path)) }
        }
        let digest: @Sendable (Int) async throws -> PartDigest
        if handedOver.isEmpty {
            digest = { [self] index in
                try await BlockingPools.files.runIfActive { [self] in
                    try partDigest(key, path: path, part: parts[index], number: index + 1)
                }
            }
        } else {
            digest = { index in try await handedOver[index].value.get() }
        }
        let type = contentType ?? "application/octet-stream"
        let created = try await send(
            "POST", objectURL(key, query: "uploads="),
            headers: ["Content-Type": type, "x-amz-meta-sha256": sha256, "x-amz-checksum-algorithm": "CRC32"],
            operation: "CreateMultipartUpload", key: key)
        guard created.isSuccess, let uploadId = S3XMLElement.parse(created.body)?.value("UploadId") else {
            throw failure(created, operation: "CreateMultipartUpload", key: key)
        }
        logger.debug("multipart upload started", metadata: ["key": "\(fullKey(key))", "size": "\(size)"])
        do {
            let uploaded = try await uploadParts(
                key, path: path, parts: parts, digest: digest, uploadId: uploadId, progress: progress)
            await partsHashed
            let body =
                "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                + uploaded.enumerated().map {
                    "<Part><ChecksumCRC32>\($0.element.crc32)</ChecksumCRC32><ETag>\"\($0.element.etag)\"</ETag>"
                        + "<PartNumber>\($0.offset + 1)</PartNumber></Part>"
                }
                .joined() + "</CompleteMultipartUpload>"
            let data = Data(body.utf8)
            let completed = try await send(
                "POST", objectURL(key, query: "uploadId=" + URIEncoding.encode(uploadId, keepSlash: false)),
                headers: ["Content-Type": "application/xml"], body: .bytes(data),
                payloadHash: Hex.encode(SHA256.hash(data)), operation: "CompleteMultipartUpload", key: key)
            let result = S3XMLElement.parse(completed.body)
            guard completed.isSuccess, result?.name != "Error" else {
                throw failure(completed, operation: "CompleteMultipartUpload", key: key)
            }
            return ObjectInfo(
                key: key, size: size, etag: Self.unquote(result?.value("ETag") ?? ""), lastModified: nil,
                sha256: sha256,
                contentType: type)
        } catch {
            // Abort outside this (possibly cancelled) task, so the abort itself is not cancelled.
            let abort = Task { [self] in
                try await send(
                    "DELETE", objectURL(key, query: "uploadId=" + URIEncoding.encode(uploadId, keepSlash: false)),
                    operation: "AbortMultipartUpload", key: key)
            }
            if let response = try? await abort.value, !response.isSuccess, response.status != 404 {
                logger.error(
                    "could not abort multipart upload",
                    metadata: ["key": "\(fullKey(key))", "upload_id": "\(uploadId)", "status": "\(response.status)"])
            }
            throw error
        }
    }

    /// Uploads every part, at most `concurrency` at once, and returns their ETags and CRC-32s
    /// in order.
    private func uploadParts(
        _ key: String, path: String, parts: [Range<UInt64>],
        digest: @escaping @Sendable (Int) async throws -> PartDigest,
        uploadId: String, progress: (@Sendable (UInt64) -> Void)?
    ) async throws -> [(etag: String, crc32: String)] {
        let sent = TransferredBytes(progress)
        return try await concurrentMap(count: parts.count, limit: multipart.concurrency) { [self] index in
            let part = parts[index]
            let digest = try await digest(index)
            let query = "partNumber=\(index + 1)&uploadId=" + URIEncoding.encode(uploadId, keepSlash: false)
            let response: HTTPResponse
            do {
                response = try await send(
                    "PUT", objectURL(key, query: query), headers: ["x-amz-checksum-crc32": digest.crc32],
                    body: .file(path: path, offset: part.lowerBound, length: UInt64(part.count)),
                    payloadHash: digest.sha256, operation: "UploadPart", key: key,
                    largeBody: UInt64(part.count) >= Self.largeBody)
            } catch let error as ObjectStoreError where error.kind == .transport {
                // A file that shrank since it was hashed cannot fill the part.
                var status = stat()
                if stat(path, &status) != 0 || UInt64(status.st_size) < part.upperBound {
                    throw changedDuringUpload(key, path: path, part: index + 1)
                }
                throw error
            }
            guard response.isSuccess, let etag = response.headers["ETag"] else {
                throw failure(response, operation: "UploadPart", key: key)
            }
            sent.add(UInt64(part.count))
            return (Self.unquote(etag), digest.crc32)
        }
    }

    /// What a part's request carries: its SHA-256 (hex), which signs it, and its CRC-32
    /// (base64), which S3 checks and keeps as the part's checksum, as the AWS SDKs send it.
    struct PartDigest: Sendable {
        var sha256: String
        var crc32: String
    }

    /// Hashes every part in order on one pool thread, setting each part's slot as it is done;
    /// on a failure every slot not yet set gets it. Nothing to do without slots.
    private func hashParts(
        _ key: String, path: String, parts: [Range<UInt64>], into slots: [OneShot<Result<PartDigest, any Error>>]
    ) async {
        guard !slots.isEmpty else { return }
        do {
            try await BlockingPools.files.runIfActive { [self] in
                for index in parts.indices {
                    slots[index].set(.success(try partDigest(key, path: path, part: parts[index], number: index + 1)))
                }
            }
        } catch {
            for slot in slots { slot.set(.failure(error)) }
        }
    }

    /// The digests of bytes `part` of the file, which must all still be there, read once.
    private func partDigest(_ key: String, path: String, part: Range<UInt64>, number: Int) throws -> PartDigest {
        let sha256 = SHA256()
        let crc32 = CRC32()
        guard try MessageDigest.update([sha256, crc32], withFileAt: path, range: part) == part.count else {
            throw changedDuringUpload(key, path: path, part: number)
        }
        return PartDigest(
            sha256: Hex.encode(sha256.finalize()), crc32: Data(crc32.finalize()).base64EncodedString())
    }

    private func changedDuringUpload(_ key: String, path: String, part: Int) -> ObjectStoreError {
        ObjectStoreError(
            kind: .local, operation: "UploadPart", location: where_(key),
            message: "\(path) changed during the upload (part \(part) is short)")
    }

    // MARK: - Helpers

    /// Bodies of this many bytes or more are sent with `Expect: 100-continue`.
    static let largeBody: UInt64 = 1 << 20

    private func info(key: String, headers: HTTPHeaders, size: UInt64?) -> ObjectInfo {
        ObjectInfo(
            key: key, size: size ?? 0, etag: Self.unquote(headers["ETag"] ?? ""),
            lastModified: headers["Last-Modified"].flatMap(HTTPDate.parse), sha256: headers["x-amz-meta-sha256"],
            contentType: headers["Content-Type"])
    }

    static func queryString(_ pairs: [(String, String)]) -> String {
        pairs.map { "\(URIEncoding.encode($0.0, keepSlash: false))=\(URIEncoding.encode($0.1, keepSlash: false))" }
            .joined(separator: "&")
    }

    static func unquote(_ etag: String) -> String {
        etag.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
    }

    /// S3's `encoding-type=url` is form encoding: `+` is a space, `%2B` a plus.
    static func formDecode(_ text: String) -> String {
        URIEncoding.percentDecode(text.replacingOccurrences(of: "+", with: " "))
    }
}

/// Bytes of one object moved so far, for progress reports: those of the one request still
/// streaming as it goes, and those of parts as each finishes.
final class TransferredBytes: Sendable {
    private let counts = Mutex<(streaming: UInt64, parts: UInt64)>((0, 0))
    private let progress: (@Sendable (UInt64) -> Void)?

    init(_ progress: (@Sendable (UInt64) -> Void)?) { self.progress = progress }

    /// The streaming request has moved `bytes` so far.
    func streaming(_ bytes: UInt64) {
        guard let progress else { return }
        progress(
            counts.withLock {
                $0.streaming = bytes
                return $0.streaming + $0.parts
            })
    }

    /// A part of `bytes` has finished.
    func add(_ bytes: UInt64) {
        guard let progress else { return }
        progress(
            counts.withLock {
                $0.parts += bytes
                return $0.streaming + $0.parts
            })
    }
}
