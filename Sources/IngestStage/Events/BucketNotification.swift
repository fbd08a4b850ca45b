import Foundation
import PipelineCommon

/// What one HTTP delivery of a bucket notification holds.
public enum BucketNotification: Sendable, Equatable {
    /// Object events (possibly none, e.g. an empty `Records` list).
    case events([ObjectEvent])
    /// The `s3:TestEvent` S3 sends when notifications are configured: nothing to do.
    case test
    /// An SNS subscription handshake: fetch `subscribeURL` to confirm it.
    case subscriptionConfirmation(topicArn: String, subscribeURL: URL)
}

/// Why a delivery was refused, said so that the sender's operator can fix it (HTTP 400).
public struct BucketNotificationError: Error, Sendable, Equatable, CustomStringConvertible {
    public let reason: String
    public var description: String { reason }
}

extension BucketNotification {
    /// Parses a delivery in any of the formats the servers send:
    /// - AWS S3 (and RustFS/MinIO): `{"Records": [{"eventName", "s3": {"bucket": {"name"}, "object": {"key", "size", "eTag"}}}]}`
    /// - RustFS/MinIO webhook envelope: `{"EventName", "Key", "Records": […]}`
    /// - SNS: `{"Type": "Notification", "Message": "<the S3 JSON as a string>"}` and
    ///   `{"Type": "SubscriptionConfirmation", "SubscribeURL": …}`
    /// - `s3:TestEvent`, directly or inside SNS.
    public static func parse(_ body: Data) throws(BucketNotificationError) -> BucketNotification {
        guard !body.isEmpty else { throw BucketNotificationError(reason: "empty body; expected S3 event JSON") }
        guard let object = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] else {
            throw BucketNotificationError(reason: "body is not a JSON object; expected S3 event JSON")
        }
        return try parse(object, depth: 0)
    }

    private static func parse(_ object: [String: Any], depth: Int) throws(BucketNotificationError) -> BucketNotification
    {
        if let type = object["Type"] as? String {
            switch type {
            case "SubscriptionConfirmation":
                guard let topic = object["TopicArn"] as? String, let text = object["SubscribeURL"] as? String,
                    let url = URL(string: text), url.scheme == "https" || url.scheme == "http"
                else {
                    throw BucketNotificationError(
                        reason: "SNS SubscriptionConfirmation without TopicArn or SubscribeURL")
                }
                return .subscriptionConfirmation(topicArn: topic, subscribeURL: url)
            case "Notification":
                guard depth == 0, let message = object["Message"] as? String,
                    let inner = (try? JSONSerialization.jsonObject(with: Data(message.utf8))) as? [String: Any]
                else { throw BucketNotificationError(reason: "SNS Notification whose Message is not S3 event JSON") }
                return try parse(inner, depth: 1)
            case "UnsubscribeConfirmation":
                return .events([])
            default:
                throw BucketNotificationError(reason: "unknown SNS message type \(type)")
            }
        }
        if (object["Event"] as? String) == "s3:TestEvent" { return .test }
        guard let records = object["Records"] as? [Any] else {
            throw BucketNotificationError(reason: "no Records list; expected S3 event JSON")
        }
        var events: [ObjectEvent] = []
        for (index, record) in records.enumerated() {
            guard let record = record as? [String: Any], let name = record["eventName"] as? String,
                let s3 = record["s3"] as? [String: Any],
                let bucket = (s3["bucket"] as? [String: Any])?["name"] as? String,
                let item = s3["object"] as? [String: Any], let rawKey = item["key"] as? String
            else {
                throw BucketNotificationError(
                    reason: "record \(index) lacks eventName, s3.bucket.name or s3.object.key")
            }
            // Keys arrive form-encoded: `+` is a space, `%2B` a plus.
            let key = URIEncoding.percentDecode(rawKey.replacingOccurrences(of: "+", with: " "))
            guard !key.isEmpty else { throw BucketNotificationError(reason: "record \(index) has an empty key") }
            let bare = name.hasPrefix("s3:") ? String(name.dropFirst(3)) : name
            let kind: ObjectEvent.Kind =
                bare.hasPrefix("ObjectCreated:") ? .created : bare.hasPrefix("ObjectRemoved:") ? .removed : .other(name)
            events.append(
                ObjectEvent(
                    kind: kind, name: name, bucket: bucket, key: key, size: (item["size"] as? NSNumber)?.uint64Value,
                    etag: (item["eTag"] as? String ?? item["etag"] as? String).map {
                        $0.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
                    },
                    sequencer: item["sequencer"] as? String))
        }
        return .events(events)
    }
}
