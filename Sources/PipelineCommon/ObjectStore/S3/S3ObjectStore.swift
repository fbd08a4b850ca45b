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
    let logger: Logger

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

    // MARK: - Requests

    func send(
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

    func failure(_ response: HTTPResponse, operation: String, key: String?) -> ObjectStoreError {
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

    // MARK: - Helpers

    /// Bodies of this many bytes or more are sent with `Expect: 100-continue`.
    static let largeBody: UInt64 = 1 << 20

    func info(key: String, headers: HTTPHeaders, size: UInt64?) -> ObjectInfo {
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
}
