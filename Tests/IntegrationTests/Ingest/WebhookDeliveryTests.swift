import Foundation
import Hummingbird
import IngestStage
import Logging
import PipelineCommon
import ServiceLifecycle
import Synchronization
import TestSupport
import Testing

@Suite(
    "pipeline-ingest serve: bucket notifications over HTTP, SNS from the real moto server",
    .enabled(if: Services.available("PIPELINE_TEST_MOTO_ENDPOINT", "PIPELINE_TEST_POSTGRES_URL"), Services.skipReason))
struct WebhookDeliveryTests {
    /// The ingest endpoint served as `pipeline-ingest serve` serves it, on a free port, plus
    /// `/confirm` standing in for SNS's SubscribeURL.
    final class Server: Sendable {
        let port = Mutex(0)
        let confirmations = Mutex(0)
        var url: String { "127.0.0.1:\(port.withLock { $0 })" }
    }

    @Test func fixturesTokensDuplicatesAndAnSNSDeliveryFromMoto() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let bucket = "events-\(UUID().uuidString.prefix(8).lowercased())"
        var environment = try Services.pipelineEnvironment(stagingRoot: dir.path + "/staging")
        // SeaweedFS has no SNS: this test's bucket lives in moto, which delivers S3 -> SNS -> HTTP.
        environment["AWS_ENDPOINT_URL_S3"] = try Services.value("PIPELINE_TEST_MOTO_ENDPOINT")
        environment["AWS_REGION"] = try Services.value("PIPELINE_TEST_MOTO_REGION")
        environment["AWS_ACCESS_KEY_ID"] = try Services.value("PIPELINE_TEST_MOTO_ACCESS_KEY_ID")
        environment["AWS_SECRET_ACCESS_KEY"] = try Services.value("PIPELINE_TEST_MOTO_SECRET_ACCESS_KEY")
        environment["PIPELINE_OBJECT_STORE_URL"] = "s3://\(bucket)/"
        environment["PIPELINE_DATASET"] = bucket
        environment["PIPELINE_WEBHOOK_TOKEN"] = "hook-token"
        // moto signs SNS messages with a placeholder signature and an AWS certificate URL this
        // machine cannot reach: it judges the delivery's shape here; SNSSignatureTests the signatures.
        environment["PIPELINE_SNS_VERIFY_SIGNATURES"] = "false"
        environment["PIPELINE_METRICS_PORT"] = "0"
        let (configuration, logger, http, objects, manifests) = try await Services.connect(
            environment, label: "webhook-test")
        let ingestor = Ingestor(configuration: configuration, objects: objects, manifests: manifests, logger: logger)
        let endpoint = NotificationEndpoint(ingestor: ingestor, http: http, logger: logger)

        let server = Server()
        let observability = ObservabilityServer(
            host: "127.0.0.1", port: 0, registry: MetricsSetup.bootstrap(), readiness: ReadinessState(), logger: logger,
            routes: { router in
                endpoint.register(on: router)
                router.get("/confirm") { _, _ in
                    server.confirmations.withLock { $0 += 1 }
                    return "confirmed"
                }
            },
            onRunning: { port in server.port.withLock { $0 = port } })
        let group = ServiceGroup(services: [observability], logger: logger)
        let running = Task { try await group.run() }
        defer {
            running.cancel()
        }
        while server.port.withLock({ $0 }) == 0 { try await Task.sleep(for: .milliseconds(20)) }
        let events = URL(string: "http://\(server.url)/events")!
        func post(_ body: String, token: String? = "hook-token") async throws -> (Int, String) {
            var headers: PipelineCommon.HTTPHeaders = ["Content-Type": "application/json"]
            if let token { headers.add("Authorization", "Bearer \(token)") }
            let response = try await http.execute(
                PipelineCommon.HTTPRequest(method: "POST", url: events, headers: headers, body: .bytes(Data(body.utf8)))
            )
            return (response.status, String(decoding: response.body, as: UTF8.self))
        }

        // SNS: S3 -> topic -> HTTP subscription (Basic auth carries the token), from moto itself.
        let photo = try TestImages.photo(dir, "from-sns.jpg", width: 90, height: 60)
        let other = try TestImages.photo(dir, "second.png", width: 30, height: 30, seed: 4)
        let python = try Services.value("PIPELINE_TEST_PYTHON")
        let peer = Services.packageRoot.appendingPathComponent("scripts/peers/s3_sns_notify.py").path
        let result = try await Command.run(
            python,
            [
                peer, try Services.value("PIPELINE_TEST_MOTO_ENDPOINT"),
                try Services.value("PIPELINE_TEST_MOTO_REGION"),
                try Services.value("PIPELINE_TEST_MOTO_ACCESS_KEY_ID"),
                try Services.value("PIPELINE_TEST_MOTO_SECRET_ACCESS_KEY"), bucket,
                "http://sns:hook-token@\(server.url)/events", "raw/sns/photo one.jpg=\(photo)",
                "raw/sns/second.png=\(other)",
            ], environment: ["PATH": "/usr/bin:/bin", "HOME": NSHomeDirectory()])
        try #require(result.status == 0, "s3_sns_notify.py failed: \(result.stderr)")
        let counts = try await manifests.queueCounts(queue: "ingest/\(bucket)")
        #expect(counts[.available] == 2, "both uploads arrived through SNS and were queued")

        // The same event again (as AWS and RustFS format), a wrong token, malformed bodies.
        let etag = try await objects.head("raw/sns/photo one.jpg").etag
        let record = """
            {"eventVersion":"2.1","eventSource":"aws:s3","eventName":"ObjectCreated:Put",
             "s3":{"bucket":{"name":"\(bucket)"},"object":{"key":"raw/sns/photo+one.jpg","size":10,"eTag":"\(etag)"}}}
            """
        #expect(try await post("{\"Records\":[\(record)]}") == (200, "queued 0 of 1 events\n"))
        let rustfs =
            "{\"EventName\":\"s3:ObjectCreated:Put\",\"Key\":\"\(bucket)/raw/sns/photo+one.jpg\",\"Records\":[\(record)]}"
        #expect(try await post(rustfs) == (200, "queued 0 of 1 events\n"))
        #expect(try await post("{\"Records\":[\(record)]}", token: "wrong").0 == 401)
        #expect(try await post("{\"Records\":[\(record)]}", token: nil).0 == 401)
        #expect(try await post("{\"Records\": \"no\"}").0 == 400)
        #expect(try await post("<xml/>").0 == 400)

        // The SNS subscription handshake: the endpoint fetches SubscribeURL.
        let confirmation = """
            {"Type":"SubscriptionConfirmation","MessageId":"m-1","Token":"t",
             "TopicArn":"arn:aws:sns:us-east-1:123456789012:\(bucket)-events",
             "Message":"You have chosen to subscribe to the topic.",
             "SubscribeURL":"http://\(server.url)/confirm","Timestamp":"2026-11-22T00:00:00.000Z"}
            """
        #expect(try await post(confirmation).0 == 200)
        #expect(server.confirmations.withLock { $0 } == 1)
        let elsewhere = confirmation.replacingOccurrences(of: server.url, with: "example.com")
        #expect(try await post(elsewhere).0 == 400, "SubscribeURL must point at SNS or the configured endpoint")

        let work = try await ingestor.work()
        #expect(work.objects == 2 && work.accepted == 2)
        let version = try #require(try await ingestor.publishIfIdle())
        let keys = try await manifests.items(of: version.id, after: nil, limit: 10).map(\.sourceKey)
        #expect(keys == ["raw/sns/photo one.jpg", "raw/sns/second.png"])

        // /metrics carries the ingest counters, in a format promtool accepts (checked elsewhere).
        let metrics = try await http.execute(
            PipelineCommon.HTTPRequest(url: URL(string: "http://\(server.url)/metrics")!))
        let text = String(decoding: metrics.body, as: UTF8.self)
        #expect(text.contains("pipeline_ingest_events_total"))
        #expect(text.contains("pipeline_ingest_objects_ingested_total"))
        let lint = try #require(try Promtool.checkMetrics(metrics.body), "promtool is not installed")
        #expect(lint.status == 0, "promtool check metrics: \(lint.report)")
        await group.triggerGracefulShutdown()
        _ = try? await running.value
    }
}
