import Foundation
import Synchronization

/// AWS Signature Version 4, as one immutable value: credentials, region and service.
///
/// Each step is a pure function with the date injected, so each is tested on its own
/// against AWS's published vectors. For S3 (`normalizesPath == false`) the path is signed
/// exactly as sent: never normalised, never encoded twice.
public struct SigV4Signer: Sendable {
    public let credentials: AWSCredentials
    public let region: String
    public let service: String
    /// True for every service but S3: `.`/`..` segments and repeated slashes are resolved
    /// and each path segment is encoded once more, as the generic SigV4 rules say.
    public let normalizesPath: Bool
    private let keyCache = SigningKeyCache()

    public static let algorithm = "AWS4-HMAC-SHA256"
    /// The payload hash that signs a request without hashing its body.
    public static let unsignedPayload = "UNSIGNED-PAYLOAD"
    public static let emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    public init(credentials: AWSCredentials, region: String, service: String = "s3", normalizesPath: Bool? = nil) {
        self.credentials = credentials
        self.region = region
        self.service = service
        self.normalizesPath = normalizesPath ?? (service != "s3")
    }

    // MARK: - Steps

    /// The canonical request of SigV4's first step.
    ///
    /// - Parameters:
    ///   - path: the request path as sent on the wire (percent-encoded).
    ///   - query: the raw (percent-encoded) query string, without `?`.
    ///   - headers: the headers to sign, names in any case.
    public func canonicalRequest(
        method: String, path: String, query: String?, headers: [(String, String)], payloadHash: String
    ) -> String {
        let canonicalHeaders = Self.canonicalHeaders(headers)
        return [
            method.uppercased(),
            canonicalURI(path),
            Self.canonicalQuery(query),
            canonicalHeaders.map { "\($0.name):\($0.value)\n" }.joined(),
            canonicalHeaders.map(\.name).joined(separator: ";"),
            payloadHash,
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
        if let cached = keyCache.key(for: day, secret: credentials.secretAccessKey.value) { return cached }
        var key = HMACSHA256.authenticationCode(
            for: Data(day.utf8), key: Data(("AWS4" + credentials.secretAccessKey.value).utf8))
        for part in [region, service, "aws4_request"] {
            key = HMACSHA256.authenticationCode(for: Data(part.utf8), key: key)
        }
        keyCache.store(key, for: day, secret: credentials.secretAccessKey.value)
        return key
    }

    /// The hex signature of a string to sign.
    public func signature(stringToSign: String, date: Date) -> String {
        Hex.encode(HMACSHA256.authenticationCode(for: Data(stringToSign.utf8), key: signingKey(date: date)))
    }

    public func credentialScope(day: String) -> String { "\(day)/\(region)/\(service)/aws4_request" }

    // MARK: - Signing

    /// Adds `Host`, `X-Amz-Date`, `X-Amz-Content-Sha256` (S3), `X-Amz-Security-Token` and
    /// `Authorization` to `headers` for a request to `url`.
    public func signHeaders(
        method: String, url: URL, headers: HTTPHeaders, payloadHash: String, date: Date = Date()
    ) -> HTTPHeaders {
        var signed = headers
        let components = URLComponents(url: url, resolvingAgainstBaseURL: false)
        signed.replace("Host", Self.hostHeader(components))
        signed.replace("X-Amz-Date", Self.timestamp(date).full)
        if service == "s3" { signed.replace("X-Amz-Content-Sha256", payloadHash) }
        if let token = credentials.sessionToken { signed.replace("X-Amz-Security-Token", token.value) }
        let pairs = signed.fields.map { ($0.name, $0.value) }
        let canonical = canonicalRequest(
            method: method, path: Self.rawPath(components), query: components?.percentEncodedQuery,
            headers: pairs, payloadHash: payloadHash)
        let toSign = stringToSign(canonicalRequest: canonical, date: date)
        let signedNames = Self.canonicalHeaders(pairs).map(\.name).joined(separator: ";")
        let authorization =
            "\(Self.algorithm) Credential=\(credentials.accessKeyId)/\(credentialScope(day: Self.timestamp(date).day)), "
            + "SignedHeaders=\(signedNames), Signature=\(signature(stringToSign: toSign, date: date))"
        signed.replace("Authorization", authorization)
        return signed
    }

    // MARK: - Canonical forms

    func canonicalURI(_ path: String) -> String {
        let raw = path.isEmpty ? "/" : path
        guard normalizesPath else { return raw }
        var segments: [Substring] = []
        for segment in raw.split(separator: "/", omittingEmptySubsequences: true) {
            if segment == "." { continue }
            if segment == ".." { _ = segments.popLast(); continue }
            segments.append(segment)
        }
        var result = "/" + segments.map { URIEncoding.encode(String($0), keepSlash: false) }.joined(separator: "/")
        if raw.hasSuffix("/"), result != "/" { result += "/" }
        return result
    }

    static func canonicalQuery(_ query: String?) -> String {
        guard let query, !query.isEmpty else { return "" }
        let pairs = query.split(separator: "&", omittingEmptySubsequences: true).map { item -> (String, String) in
            let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = URIEncoding.percentDecode(String(parts[0]))
            let value = parts.count > 1 ? URIEncoding.percentDecode(String(parts[1])) : ""
            return (URIEncoding.encode(name, keepSlash: false), URIEncoding.encode(value, keepSlash: false))
        }
        return pairs.sorted { $0.0 == $1.0 ? $0.1 < $1.1 : $0.0 < $1.0 }
            .map { "\($0.0)=\($0.1)" }.joined(separator: "&")
    }

    static func canonicalHeaders(_ headers: [(String, String)]) -> [(name: String, value: String)] {
        var merged: [String: [String]] = [:]
        for (name, value) in headers {
            let trimmed = value.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
            merged[name.lowercased(), default: []].append(trimmed)
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
    static func timestamp(_ date: Date) -> (full: String, day: String) {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let day = String(format: "%04d%02d%02d", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday))
        let full = day + String(format: "T%02d%02d%02dZ", Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec))
        return (full, day)
    }
}

/// The last derived signing key, so a day's requests derive it once.
final class SigningKeyCache: Sendable {
    private let entry = Mutex<(day: String, secretHash: [UInt8], key: [UInt8])?>(nil)

    func key(for day: String, secret: String) -> [UInt8]? {
        let hash = SHA256.hash(Data(secret.utf8))
        return entry.withLock { $0.flatMap { $0.day == day && $0.secretHash == hash ? $0.key : nil } }
    }

    func store(_ key: [UInt8], for day: String, secret: String) {
        let hash = SHA256.hash(Data(secret.utf8))
        entry.withLock { $0 = (day, hash, key) }
    }
}
