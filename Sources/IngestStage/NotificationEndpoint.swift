import Foundation
import Hummingbird
import Logging
import Metrics
import NIOCore
import PipelineCommon

/// `POST /events`: S3 bucket notifications as AWS, RustFS and MinIO send them, directly or
/// through SNS. A delivery is acknowledged (200) only once its objects are durably queued;
/// when the manifest store is unreachable the sender gets 503 and delivers again later.
public struct NotificationEndpoint: Sendable {
    public static let path = "/events"
    /// S3 events are a few KiB; SNS caps messages at 256 KiB.
    static let maxBody = 1 << 20

    let ingestor: Ingestor
    let token: Secret?
    let http: HTTPClient
    let logger: Logger
    /// Verifies SNS messages' signatures; nil when `ingest.sns_verify_signatures` is off.
    public let signatures: SNSCertificateCache?

    public init(ingestor: Ingestor, http: HTTPClient, logger: Logger) {
        self.ingestor = ingestor
        self.token = ingestor.configuration.ingest.webhookToken
        self.http = http
        self.logger = logger
        let settings = ingestor.configuration.ingest
        self.signatures =
            settings.snsVerifySignatures
            ? SNSCertificateCache(http: http, trustedHosts: settings.snsCertificateHosts) : nil
    }

    public func register(on router: Router<BasicRequestContext>) {
        router.post(RouterPath(stringLiteral: Self.path)) { request, _ -> Response in
            let body: ByteBuffer
            do {
                body = try await request.body.collect(upTo: Self.maxBody)
            } catch {
                return Self.reply(.contentTooLarge, "body over \(Self.maxBody) bytes; S3 events are far smaller")
            }
            let (status, message) = await self.deliver(
                Data(buffer: body), authorization: request.headers[.authorization])
            return Self.reply(HTTPResponse.Status(code: status), message)
        }
    }

    /// Handles one delivery; returns the HTTP status and a one-line message for the sender.
    public func deliver(_ body: Data, authorization: String?) async -> (status: Int, message: String) {
        guard Self.authorized(authorization, token: token) else {
            count("unauthorized")
            logger.warning("bucket notification refused: missing or wrong token")
            return (401, "missing or wrong token: send Authorization: Bearer <ingest.webhook_token>")
        }
        if let signatures, let object = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] {
            do {
                if let message = try SNSSignedMessage.parse(object) { try await signatures.verify(message) }
            } catch {
                count("bad-signature")
                logger.warning("SNS message refused: its signature does not hold", metadata: ["reason": "\(error.reason)"])
                return (403, error.reason)
            }
        }
        let notification: BucketNotification
        do {
            notification = try BucketNotification.parse(body)
        } catch {
            count("malformed")
            logger.warning("bucket notification refused", metadata: ["reason": "\(error.reason)"])
            return (400, error.reason)
        }
        switch notification {
        case .test:
            count("test")
            return (200, "test event acknowledged")
        case .subscriptionConfirmation(let topic, let url):
            return await confirm(topic: topic, url: url)
        case .events(let events):
            do {
                let queued = try await ingestor.enqueue(events)
                return (200, "queued \(queued) of \(events.count) events")
            } catch {
                count("unavailable")
                logger.error("could not queue bucket notification", metadata: ["error": "\(error)"])
                return (503, "could not queue the events now; deliver again later")
            }
        }
    }

    /// Confirms an SNS subscription by fetching its SubscribeURL, if it points at SNS
    /// (`*.amazonaws.com`), at the configured S3-compatible endpoint's host or at a trusted
    /// SNS certificate host (its signature was verified before, unless verification is off).
    private func confirm(topic: String, url: URL) async -> (Int, String) {
        let host = url.host?.lowercased() ?? ""
        let endpointHost = ingestor.configuration.objectStore.endpoint?.host?.lowercased()
        let trusted = ingestor.configuration.ingest.snsCertificateHosts.map {
            $0.split(separator: ":").first.map(String.init) ?? $0
        }
        guard host.hasSuffix(".amazonaws.com") || (endpointHost != nil && host == endpointHost) || trusted.contains(host)
        else {
            count("malformed")
            logger.warning("SNS subscription not confirmed: unexpected host", metadata: ["host": "\(host)"])
            return (400, "SubscribeURL host \(host) is neither SNS nor the configured endpoint")
        }
        do {
            let response = try await http.execute(PipelineCommon.HTTPRequest(url: url), sink: .memory(limit: 1 << 20))
            guard response.status == 200 else {
                count("unavailable")
                return (502, "confirming the subscription returned HTTP \(response.status)")
            }
            count("subscription-confirmed")
            logger.notice("SNS subscription confirmed", metadata: ["topic": "\(topic)"])
            return (200, "subscription to \(topic) confirmed")
        } catch {
            count("unavailable")
            return (502, "confirming the subscription failed: \(error)")
        }
    }

    /// Bearer token (MinIO and RustFS webhook targets' `auth_token`), or the password of
    /// Basic auth (SNS puts `user:password@` of the endpoint URL there).
    static func authorized(_ header: String?, token: Secret?) -> Bool {
        guard let token else { return true }
        guard let header else { return false }
        let parts = header.split(separator: " ", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { return false }
        switch parts[0].lowercased() {
        case "bearer":
            return constantTimeEqual(parts[1], token.value)
        case "basic":
            guard let decoded = Data(base64Encoded: parts[1]).map({ String(decoding: $0, as: UTF8.self) }),
                let colon = decoded.firstIndex(of: ":")
            else { return false }
            return constantTimeEqual(String(decoded[decoded.index(after: colon)...]), token.value)
        default:
            return false
        }
    }

    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8)
        let y = Array(b.utf8)
        var difference = UInt8(x.count == y.count ? 0 : 1)
        for index in 0..<max(x.count, y.count) {
            difference |= (index < x.count ? x[index] : 0) ^ (index < y.count ? y[index] : 0)
        }
        return difference == 0
    }

    private func count(_ outcome: String) {
        Counter(label: "pipeline_ingest_events_total", dimensions: [("outcome", outcome)]).increment()
    }

    private static func reply(_ status: HTTPResponse.Status, _ message: String) -> Response {
        Response(
            status: status, headers: [.contentType: "text/plain; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: message + "\n")))
    }
}
