import Foundation
import Logging
import PipelineCommon
import TestSupport
import Testing

@testable import IngestStage

@Suite("Bucket-notification endpoint: tokens, formats, duplicates, malformed bodies")
struct NotificationEndpointTests {
    static func record(bucket: String, key: String, etag: String, size: Int) -> String {
        """
        {"eventVersion":"2.1","eventSource":"aws:s3","eventName":"ObjectCreated:Put",
         "s3":{"bucket":{"name":"\(bucket)"},"object":{"key":"\(key)","size":\(size),"eTag":"\(etag)"}}}
        """
    }

    @Test func tokensAreCheckedAsBearerOrBasicPassword() {
        let token = Secret("s3cret-token")
        #expect(NotificationEndpoint.authorized("Bearer s3cret-token", token: token))
        #expect(NotificationEndpoint.authorized("bearer s3cret-token", token: token))
        let basic = Data("sns:s3cret-token".utf8).base64EncodedString()
        #expect(NotificationEndpoint.authorized("Basic \(basic)", token: token))
        #expect(!NotificationEndpoint.authorized("Bearer wrong", token: token))
        #expect(!NotificationEndpoint.authorized("Bearer s3cret-token-and-more", token: token))
        #expect(!NotificationEndpoint.authorized(nil, token: token))
        #expect(!NotificationEndpoint.authorized("s3cret-token", token: token))
        #expect(NotificationEndpoint.authorized(nil, token: nil), "no token configured: open")
    }

    @Test func deliveriesQueueOnceAndBadOnesAreRefusedWithAReason() async throws {
        let ingest = try await EmbeddedIngest.make(environment: ["PIPELINE_WEBHOOK_TOKEN": "t0ken"])
        defer { ingest.dir.remove() }
        let endpoint = NotificationEndpoint(
            ingestor: ingest.ingestor, http: HTTPClient(logger: Logger(label: "test")), logger: Logger(label: "test"))
        let image = try TestImages.photo(ingest.dir, "x.jpg")
        let info = try await ingest.upload(image, as: "raw/in coming/x.jpg")
        let aws = "{\"Records\":[\(Self.record(bucket: "any", key: "raw/in+coming/x.jpg", etag: info.etag, size: 10))]}"
        // RustFS and MinIO wrap the same records in {EventName, Key, Records}.
        let minio = """
            {"EventName":"s3:ObjectCreated:Put","Key":"any/raw/in+coming/x.jpg","Records":[\(Self.record(
                bucket: "any", key: "raw/in+coming/x.jpg", etag: info.etag, size: 10))]}
            """
        let auth = "Bearer t0ken"

        #expect(await endpoint.deliver(Data(aws.utf8), authorization: nil).status == 401)
        #expect(await endpoint.deliver(Data(aws.utf8), authorization: "Bearer nope").status == 401)
        #expect(await endpoint.deliver(Data(aws.utf8), authorization: auth) == (200, "queued 1 of 1 events"))
        #expect(await endpoint.deliver(Data(minio.utf8), authorization: auth) == (200, "queued 0 of 1 events"))
        #expect(await endpoint.deliver(Data(aws.utf8), authorization: auth) == (200, "queued 0 of 1 events"))
        let test = #"{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2026-11-22T00:00:00Z","Bucket":"any"}"#
        #expect(await endpoint.deliver(Data(test.utf8), authorization: auth).status == 200)
        for bad in ["", "not json", "[1,2]", #"{"Records":[{"eventName":"ObjectCreated:Put"}]}"#] {
            let (status, message) = await endpoint.deliver(Data(bad.utf8), authorization: auth)
            #expect(status == 400, "\(bad)")
            #expect(!message.isEmpty)
        }

        let version = try #require(try await ingest.ingestor.runOnce().published)
        let items = try await ingest.items(version)
        #expect(items.keys.sorted() == ["raw/in coming/x.jpg"], "the same event twice is ingested once")
    }

    @Test func aDeliveryIsRefusedWith503WhenItCannotBeQueued() async throws {
        // The manifest store is down: the sender must deliver again, nothing is acknowledged.
        let ingest = try await EmbeddedIngest.make()
        defer { ingest.dir.remove() }
        var settings = ingest.configuration
        settings.manifest.location = .postgres(
            connectionURI: Secret("postgres://u:p@127.0.0.1:\(try closedPort())/none"))
        let down = try await ManifestStoreFactory.make(settings)
        let ingestor = Ingestor(
            configuration: settings, objects: ingest.objects, manifests: down, logger: Logger(label: "test"))
        let endpoint = NotificationEndpoint(
            ingestor: ingestor, http: HTTPClient(logger: Logger(label: "test")), logger: Logger(label: "test"))
        let body = "{\"Records\":[\(Self.record(bucket: "b", key: "raw/x.jpg", etag: "e", size: 1))]}"
        let (status, message) = await endpoint.deliver(Data(body.utf8), authorization: nil)
        #expect(status == 503)
        #expect(message.contains("deliver again"))
    }
}
