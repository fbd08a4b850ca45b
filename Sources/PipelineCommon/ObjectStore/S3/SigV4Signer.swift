import Foundation
import Synchronization

/// AWS Signature Version 4, as one immutable value: credentials, region, service and how
/// the path is treated.
///
/// Each step (``canonicalRequest(_:)``, ``stringToSign(canonicalRequest:date:)``,
/// ``signingKey(date:)``, ``signature(stringToSign:date:)``) is a pure function with the date
/// injected, tested on its own against AWS's published vectors. The signing key is cached
/// per day.
public struct SigV4Signer: Sendable {
    /// How the request path becomes the canonical URI.
    public enum PathHandling: Sendable, Equatable {
        /// S3: the path is signed exactly as sent, never normalised, never encoded twice.
        case asSent
        /// Every other service: the sent path is URI-encoded once more, after resolving `.`,
        /// `..` and repeated slashes when `normalized`.
        case encodedAgain(normalized: Bool)
    }

    /// What one request looks like to the signer.
    public struct Request: Sendable {
        public var method: String
        /// The path as sent on the wire (already percent-encoded for S3).
        public var path: String
        /// The raw query string without `?`, possibly empty.
        public var query: String
        /// The headers to sign.
        public var headers: [(String, String)]
        /// Hex SHA-256 of the body, or ``SigV4Signer/unsignedPayload``.
        public var payloadHash: String

        public init(method: String, path: String, query: String = "", headers: [(String, String)], payloadHash: String)
        {
            self.method = method
            self.path = path
            self.query = query
            self.headers = headers
            self.payloadHash = payloadHash
        }
    }

    public let credentials: AWSCredentials
    public let region: String
    public let service: String
    public let pathHandling: PathHandling
    private let keyCache = SigningKeyCache()

    public static let algorithm = "AWS4-HMAC-SHA256"
    /// The payload hash that signs a request without hashing its body.
    public static let unsignedPayload = "UNSIGNED-PAYLOAD"
    public static let emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    public init(credentials: AWSCredentials, region: String, service: String = "s3", pathHandling: PathHandling? = nil)
    {
        self.credentials = credentials
        self.region = region
        self.service = service
        self.pathHandling = pathHandling ?? (service == "s3" ? .asSent : .encodedAgain(normalized: true))
    }

    // MARK: - Steps

    /// The canonical request: method, canonical URI, canonical query, canonical headers,
    /// signed header names and payload hash, one a line.
    public func canonicalRequest(_ request: Request) -> String {
        let headers = Self.canonicalHeaders(request.headers)
        return [
            request.method.uppercased(),
            canonicalURI(request.path),
            Self.canonicalQuery(request.query),
            headers.map { "\($0.name):\($0.value)\n" }.joined(),
            headers.map(\.name).joined(separator: ";"),
            request.payloadHash,
        ].joined(separator: "\n")
    }

    /// The string to sign for a canonical request made at `date`.
    public func stringToSign(canonicalRequest: String, date: Date) -> String {
        let stamp = Self.timestamp(date)
        return [
            Self.algorithm, stamp.full, credentialScope(day: stamp.day),
            Hex.encode(SHA256.hash(Data(canonicalRequest.utf8))),
        ].joined(separator: "\n")
    }

    /// The key derived from the secret for `date`'s day, region and service; cached per day.
    public func signingKey(date: Date) -> [UInt8] {
        let day = Self.timestamp(date).day
        if let cached = keyCache.key(for: day) { return cached }
        var key = HMACSHA256.authenticationCode(
            for: Data(day.utf8), key: Data(("AWS4" + credentials.secretAccessKey.value).utf8))
        for part in [region, service, "aws4_request"] {
            key = HMACSHA256.authenticationCode(for: Data(part.utf8), key: key)
        }
        keyCache.store(key, for: day)
        return key
    }

    /// The hex signature of a string to sign.
    public func signature(stringToSign: String, date: Date) -> String {
        Hex.encode(HMACSHA256.authenticationCode(for: Data(stringToSign.utf8), key: signingKey(date: date)))
    }

    public func credentialScope(day: String) -> String { "\(day)/\(region)/\(service)/aws4_request" }

    // MARK: - Header signing

    /// The `Authorization` header value for `request` (whose headers must already hold
    /// everything to be signed, `Host` and `X-Amz-Date` included).
    public func authorization(for request: Request, date: Date) -> String {
        let toSign = stringToSign(canonicalRequest: canonicalRequest(request), date: date)
        let signedNames = Self.canonicalHeaders(request.headers).map(\.name).joined(separator: ";")
        return
            "\(Self.algorithm) Credential=\(credentials.accessKeyId)/\(credentialScope(day: Self.timestamp(date).day)), "
            + "SignedHeaders=\(signedNames), Signature=\(signature(stringToSign: toSign, date: date))"
    }

    /// Adds `Host`, `X-Amz-Date`, `X-Amz-Content-Sha256` (when `contentSHA256Header`),
    /// `X-Amz-Security-Token` and `Authorization` to `headers` for a request to `url`.
    public func signHeaders(
        method: String, url: URL, headers: HTTPHeaders, payloadHash: String, date: Date = Date(),
        contentSHA256Header: Bool? = nil
    ) -> HTTPHeaders {
        var signed = headers
        let components = URLComponents(url: url, resolvingAgainstBaseURL: false)
        signed.replace("Host", Self.hostHeader(components))
        signed.replace("X-Amz-Date", Self.timestamp(date).full)
        if contentSHA256Header ?? (service == "s3") { signed.replace("X-Amz-Content-Sha256", payloadHash) }
        if let token = credentials.sessionToken { signed.replace("X-Amz-Security-Token", token.value) }
        let request = Request(
            method: method, path: Self.rawPath(components), query: components?.percentEncodedQuery ?? "",
            headers: signed.fields.map { ($0.name, $0.value) }, payloadHash: payloadHash)
        signed.replace("Authorization", authorization(for: request, date: date))
        return signed
    }

    // MARK: - Query signing (presigned URLs)

    /// The query string of a presigned request: `request.query` plus the `X-Amz-*`
    /// parameters and the signature. `request.headers` are the headers the user of the URL
    /// must send (at least `Host`).
    public func presignedQuery(for request: Request, expires: Duration, date: Date) -> String {
        let stamp = Self.timestamp(date)
        let signedNames = Self.canonicalHeaders(request.headers).map(\.name).joined(separator: ";")
        var parameters = [
            ("X-Amz-Algorithm", Self.algorithm),
            ("X-Amz-Credential", "\(credentials.accessKeyId)/\(credentialScope(day: stamp.day))"),
            ("X-Amz-Date", stamp.full),
            ("X-Amz-Expires", "\(expires.components.seconds)"),
            ("X-Amz-SignedHeaders", signedNames),
        ]
        if let token = credentials.sessionToken { parameters.append(("X-Amz-Security-Token", token.value)) }
        let added = parameters.map { "\($0.0)=\(URIEncoding.encode($0.1, keepSlash: false))" }.joined(separator: "&")
        var unsigned = request
        unsigned.query = request.query.isEmpty ? added : request.query + "&" + added
        let toSign = stringToSign(canonicalRequest: canonicalRequest(unsigned), date: date)
        return unsigned.query + "&X-Amz-Signature=" + signature(stringToSign: toSign, date: date)
    }

    /// A presigned URL for `method` on `url`, valid for `expires` (at most 7 days).
    public func presign(method: String, url: URL, expires: Duration, date: Date = Date()) -> URL {
        var components = URLComponents(url: url, resolvingAgainstBaseURL: false)
        let request = Request(
            method: method, path: Self.rawPath(components), query: components?.percentEncodedQuery ?? "",
            headers: [("Host", Self.hostHeader(components))],
            payloadHash: service == "s3" ? Self.unsignedPayload : Self.emptyPayloadHash)
        components?.percentEncodedQuery = presignedQuery(for: request, expires: expires, date: date)
        return components?.url ?? url
    }

    // MARK: - Canonical forms

    func canonicalURI(_ path: String) -> String {
        let raw = path.isEmpty ? "/" : path
        guard case .encodedAgain(let normalized) = pathHandling else { return raw }
        guard normalized else { return URIEncoding.encode(raw, keepSlash: true) }
        var segments: [Substring] = []
        for segment in raw.split(separator: "/", omittingEmptySubsequences: true) {
            if segment == "." { continue }
            if segment == ".." {
                _ = segments.popLast()
                continue
            }
            segments.append(segment)
        }
        var result = "/" + segments.map { URIEncoding.encode(String($0), keepSlash: false) }.joined(separator: "/")
        if raw.hasSuffix("/"), result != "/" { result += "/" }
        return result
    }

    static func canonicalQuery(_ query: String) -> String {
        guard !query.isEmpty else { return "" }
        let pairs = query.split(separator: "&", omittingEmptySubsequences: true).map { item -> (String, String) in
            let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = URIEncoding.percentDecode(String(parts[0]))
            let value = parts.count > 1 ? URIEncoding.percentDecode(String(parts[1])) : ""
            return (URIEncoding.encode(name, keepSlash: false), URIEncoding.encode(value, keepSlash: false))
        }
        return pairs.sorted { $0.0 == $1.0 ? $0.1 < $1.1 : $0.0 < $1.0 }
            .map { "\($0.0)=\($0.1)" }.joined(separator: "&")
    }

    /// Lower-case names, values trimmed with inner whitespace runs collapsed to one space,
    /// repeated headers joined with commas in their original order, sorted by name.
    static func canonicalHeaders(_ headers: [(String, String)]) -> [(name: String, value: String)] {
        var merged: [String: [String]] = [:]
        for (name, value) in headers {
            let collapsed = value.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" })
                .joined(separator: " ")
            merged[name.lowercased(), default: []].append(collapsed)
        }
        return merged.keys.sorted().map { ($0, merged[$0]!.joined(separator: ",")) }
    }

    static func rawPath(_ components: URLComponents?) -> String {
        let path = components?.percentEncodedPath ?? "/"
        return path.isEmpty ? "/" : path
    }

    static func hostHeader(_ components: URLComponents?) -> String {
        let host = components?.host ?? ""
        guard let port = components?.port else { return host }
        let scheme = components?.scheme?.lowercased()
        if (scheme == "http" && port == 80) || (scheme == "https" && port == 443) { return host }
        return "\(host):\(port)"
    }

    /// `20150830T123600Z` and `20150830` for `date`, in UTC.
    public static func timestamp(_ date: Date) -> (full: String, day: String) {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let day = String(format: "%04d%02d%02d", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday))
        let full = day + String(format: "T%02d%02d%02dZ", Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec))
        return (full, day)
    }
}

/// The last derived signing key, so a day's requests derive it once. One cache per signer
/// value, whose secret never changes.
final class SigningKeyCache: Sendable {
    private let entry = Mutex<(day: String, key: [UInt8])?>(nil)

    func key(for day: String) -> [UInt8]? {
        entry.withLock { $0.flatMap { $0.day == day ? $0.key : nil } }
    }

    func store(_ key: [UInt8], for day: String) {
        entry.withLock { $0 = (day, key) }
    }
}
