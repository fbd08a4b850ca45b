import Foundation
import PipelineCommon

/// The signature of an SNS message (a `Notification`, `SubscriptionConfirmation` or
/// `UnsubscribeConfirmation` delivered over HTTP), as AWS documents its verification:
/// the fields that are signed, in order, as `Name\nValue\n`; SignatureVersion 1 is SHA1withRSA,
/// 2 SHA256withRSA; the certificate comes from `SigningCertURL`, which must be HTTPS on an
/// `sns.<region>.amazonaws.com` host (or a host the operator trusts) and name a `.pem` file.
public struct SNSSignedMessage: Sendable, Equatable {
    public let type: String
    public let signatureVersion: String
    public let signature: [UInt8]
    public let signingCertURL: URL
    /// The text whose signature `signature` is.
    public let stringToSign: String

    /// Why a message's signature was not accepted (HTTP 403), said for the sender's operator.
    public struct Refusal: Error, Sendable, Equatable, CustomStringConvertible {
        public let reason: String
        public var description: String { reason }
    }

    /// The signed parts of `object` when it is an SNS message (it has a `Type` and a `TopicArn`);
    /// nil for other JSON (S3, RustFS and MinIO deliveries, which carry no signature).
    public static func parse(_ object: [String: Any]) throws(Refusal) -> SNSSignedMessage? {
        guard let type = object["Type"] as? String, object["TopicArn"] != nil else { return nil }
        let fields: [String]
        switch type {
        case "Notification": fields = ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
        case "SubscriptionConfirmation", "UnsubscribeConfirmation":
            fields = ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"]
        default: throw Refusal(reason: "unknown SNS message type \(type); nothing to verify it by")
        }
        guard let version = object["SignatureVersion"] as? String, let text = object["Signature"] as? String,
            let certificate = object["SigningCertURL"] as? String ?? object["SigningCertUrl"] as? String
        else { throw Refusal(reason: "SNS \(type) without SignatureVersion, Signature or SigningCertURL: unsigned") }
        guard version == "1" || version == "2" else {
            throw Refusal(reason: "SNS SignatureVersion \(version) is not 1 (SHA1withRSA) or 2 (SHA256withRSA)")
        }
        guard let signature = Data(base64Encoded: text), !signature.isEmpty else {
            throw Refusal(reason: "SNS Signature is not base64")
        }
        guard let url = URL(string: certificate) else {
            throw Refusal(reason: "SNS SigningCertURL is not a URL")
        }
        var stringToSign = ""
        for field in fields {
            guard let value = object[field] else {
                if field == "Subject" { continue }  // the only optional signed field
                throw Refusal(reason: "SNS \(type) lacks \(field), which its signature covers")
            }
            guard let text = value as? String else { throw Refusal(reason: "SNS \(field) is not a string") }
            stringToSign += "\(field)\n\(text)\n"
        }
        return SNSSignedMessage(
            type: type, signatureVersion: version, signature: [UInt8](signature), signingCertURL: url,
            stringToSign: stringToSign)
    }

    /// Whether `url` may serve SNS signing certificates: HTTPS, a `.pem` path, and a host of
    /// the form `sns.<region>.amazonaws.com` (`.com.cn` in China) or one of `trustedHosts`
    /// (`host` or `host:port`, lowercase).
    public static func certificateURLProblem(_ url: URL, trustedHosts: [String]) -> String? {
        guard url.scheme?.lowercased() == "https" else {
            return "SigningCertURL \(url.absoluteString) is not HTTPS"
        }
        guard url.user == nil, url.password == nil, url.query == nil, url.path.hasSuffix(".pem") else {
            return "SigningCertURL \(url.absoluteString) does not name a .pem certificate"
        }
        let host = url.host?.lowercased() ?? ""
        let hostPort = url.port.map { "\(host):\($0)" } ?? host
        if trustedHosts.contains(hostPort) || (url.port == nil && trustedHosts.contains(host)) { return nil }
        let labels = host.split(separator: ".", omittingEmptySubsequences: false)
        let region = labels.count >= 4 ? labels[1] : ""
        let isSNS =
            url.port == nil && labels.first == "sns" && !region.isEmpty
            && region.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" }
            && (host.hasSuffix(".amazonaws.com") && labels.count == 4
                || host.hasSuffix(".amazonaws.com.cn") && labels.count == 5)
        return isSNS ? nil : "SigningCertURL host \(host) is not sns.<region>.amazonaws.com nor a trusted host"
    }
}

/// Fetches SNS signing certificates (HTTPS only, from permitted hosts) and keeps them, so a
/// stream of notifications costs one download per certificate.
public actor SNSCertificateCache {
    private let http: HTTPClient
    private let trustedHosts: [String]
    private var certificates: [URL: Data] = [:]
    /// How many certificates were downloaded (for tests and the log).
    public private(set) var downloads = 0
    static let maxEntries = 32

    public init(http: HTTPClient, trustedHosts: [String]) {
        self.http = http
        self.trustedHosts = trustedHosts
    }

    /// Verifies `message`'s signature; throws the reason it is refused.
    public func verify(_ message: SNSSignedMessage) async throws(SNSSignedMessage.Refusal) {
        if let problem = SNSSignedMessage.certificateURLProblem(message.signingCertURL, trustedHosts: trustedHosts) {
            throw .init(reason: problem)
        }
        let certificate = try await certificate(at: message.signingCertURL)
        let valid: Bool
        do {
            valid = try RSASignature.verify(
                message.signature, of: Array(message.stringToSign.utf8), certificatePEM: certificate,
                digest: message.signatureVersion == "1" ? .sha1 : .sha256)
        } catch {
            throw .init(reason: "\(error) (\(message.signingCertURL.absoluteString))")
        }
        guard valid else {
            throw .init(reason: "SNS \(message.type) signature does not verify against \(message.signingCertURL.absoluteString)")
        }
    }

    private func certificate(at url: URL) async throws(SNSSignedMessage.Refusal) -> Data {
        if let known = certificates[url] { return known }
        let response: HTTPResponse
        do {
            response = try await http.execute(
                HTTPRequest(url: url, timeout: .seconds(10), retryPolicy: RetryPolicy(maxAttempts: 2)),
                sink: .memory(limit: 64 << 10))
        } catch {
            throw .init(reason: "could not fetch the signing certificate \(url.absoluteString): \(error)")
        }
        guard response.status == 200 else {
            throw .init(reason: "fetching the signing certificate \(url.absoluteString) returned HTTP \(response.status)")
        }
        downloads += 1
        if certificates.count >= Self.maxEntries { certificates.removeAll() }
        certificates[url] = response.body
        return response.body
    }
}
