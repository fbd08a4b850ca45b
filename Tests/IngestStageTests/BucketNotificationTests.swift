import Foundation
import Testing

@testable import IngestStage
@testable import PipelineCommon

@Suite("S3 bucket notifications as AWS, RustFS/MinIO and SNS deliver them")
struct BucketNotificationTests {
    /// The shape AWS documents for S3 event notifications (version 2.1).
    static let aws = """
        {"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"us-east-1",
          "eventTime":"2026-11-22T03:04:05.000Z","eventName":"ObjectCreated:Put",
          "userIdentity":{"principalId":"AWS:AIDAEXAMPLE"},"requestParameters":{"sourceIPAddress":"127.0.0.1"},
          "responseElements":{"x-amz-request-id":"C3D13FE58DE4C810","x-amz-id-2":"FMyUVURIY8"},
          "s3":{"s3SchemaVersion":"1.0","configurationId":"ingest",
            "bucket":{"name":"raw-images","ownerIdentity":{"principalId":"A3NL1KOZZKExample"},"arn":"arn:aws:s3:::raw-images"},
            "object":{"key":"incoming/cat+photo+%281%29.jpg","size":1024,"eTag":"d41d8cd98f00b204e9800998ecf8427e",
                      "sequencer":"0055AED6DCD90281E5"}}},
          {"eventVersion":"2.1","eventSource":"aws:s3","eventName":"ObjectRemoved:Delete",
           "s3":{"bucket":{"name":"raw-images"},"object":{"key":"incoming/old.jpg","sequencer":"0055AED6DCD90281E6"}}}]}
        """

    /// RustFS and MinIO webhooks wrap the same records with EventName and Key.
    static let minio = """
        {"EventName":"s3:ObjectCreated:Put","Key":"raw-images/dir/%C3%BCn%C3%AF+%2B.png",
         "Records":[{"eventVersion":"2.0","eventSource":"minio:s3","eventName":"s3:ObjectCreated:Put",
           "s3":{"bucket":{"name":"raw-images"},"object":{"key":"dir/%C3%BCn%C3%AF+%2B.png","size":7,"eTag":"\\"abc\\"",
             "contentType":"image/png","sequencer":"17F1A5B3C2D4E6F8"}}}]}
        """

    @Test func parsesAWSRecords() throws {
        guard case .events(let events) = try BucketNotification.parse(Data(Self.aws.utf8)) else {
            Issue.record("expected events")
            return
        }
        #expect(events.count == 2)
        #expect(
            events[0]
                == ObjectEvent(
                    kind: .created, name: "ObjectCreated:Put", bucket: "raw-images",
                    key: "incoming/cat photo (1).jpg", size: 1024, etag: "d41d8cd98f00b204e9800998ecf8427e",
                    sequencer: "0055AED6DCD90281E5"))
        #expect(events[1].kind == .removed)
        #expect(events[1].size == nil)
    }

    @Test func parsesTheRustFSAndMinIOEnvelope() throws {
        guard case .events(let events) = try BucketNotification.parse(Data(Self.minio.utf8)) else {
            Issue.record("expected events")
            return
        }
        #expect(events.map(\.key) == ["dir/ünï +.png"])
        #expect(events.first?.kind == .created)
        #expect(events.first?.etag == "abc")
    }

    @Test func unwrapsSNSAndRecognisesHandshakesAndTestEvents() throws {
        let message = String(
            data: try JSONSerialization.data(withJSONObject: [
                "Type": "Notification", "MessageId": "m1",
                "TopicArn": "arn:aws:sns:us-east-1:123456789012:ingest", "Message": Self.aws,
            ]), encoding: .utf8)!
        guard case .events(let events) = try BucketNotification.parse(Data(message.utf8)) else {
            Issue.record("expected events inside the SNS notification")
            return
        }
        #expect(events.count == 2)

        let confirm =
            #"{"Type":"SubscriptionConfirmation","TopicArn":"arn:aws:sns:us-east-1:1:t","Token":"tok","SubscribeURL":"https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&Token=tok"}"#
        #expect(
            try BucketNotification.parse(Data(confirm.utf8))
                == .subscriptionConfirmation(
                    topicArn: "arn:aws:sns:us-east-1:1:t",
                    subscribeURL: URL(
                        string: "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&Token=tok")!))

        let test =
            #"{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2026-11-22T03:04:05.000Z","Bucket":"raw-images"}"#
        #expect(try BucketNotification.parse(Data(test.utf8)) == .test)
        let wrappedTest = String(
            data: try JSONSerialization.data(withJSONObject: ["Type": "Notification", "Message": test]), encoding: .utf8
        )!
        #expect(try BucketNotification.parse(Data(wrappedTest.utf8)) == .test)
    }

    @Test(arguments: [
        "", "not json", "[]", #"{"Records": "nope"}"#, #"{"Records":[{"eventName":"ObjectCreated:Put"}]}"#,
        #"{"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":""}}}]}"#,
        #"{"Type":"Notification","Message":"not json"}"#, #"{"Type":"SubscriptionConfirmation"}"#, #"{"Type":"Weird"}"#,
        #"{"hello":"world"}"#,
    ])
    func refusesMalformedBodiesWithAReason(_ body: String) {
        #expect {
            _ = try BucketNotification.parse(Data(body.utf8))
        } throws: { error in
            !((error as? BucketNotificationError)?.reason.isEmpty ?? true)
        }
    }
}
