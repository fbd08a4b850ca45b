import Foundation
import Logging
import Metrics
import Prometheus
import ServiceLifecycle
import Synchronization
import TestSupport
import Testing

@testable import PipelineCommon

@Suite("Observability server: /metrics, /livez, /readyz as a Service")
struct ObservabilityServerTests {
    @Test func servesMetricsHealthAndReadinessThenShutsDownGracefully() async throws {
        let registry = PrometheusCollectorRegistry()
        let factory = MetricsSetup.factory(registry: registry)
        // Record through the swift-metrics API, as stages do, into this test's own registry.
        Counter(label: "pipeline_test_images_total", dimensions: [("outcome", "ok")], factory: factory).increment(by: 3)
        Timer(label: "pipeline_test_step_duration_seconds", dimensions: [], factory: factory)
            .recordNanoseconds(250_000_000)
        let readiness = ReadinessState()
        readiness.markNotReady("model", reason: "no model loaded yet")
        var logger = Logger(label: "observability-test")
        logger.logLevel = .warning
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let server = ObservabilityServer(
            host: "127.0.0.1", port: 0, registry: registry, readiness: readiness, logger: logger,
            onRunning: { port in
                continuation.yield(port)
                continuation.finish()
            })
        let group = ServiceGroup(
            configuration: .init(services: [server], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        let running = Task { try await group.run() }
        var port = 0
        for await bound in ports { port = bound }
        let client = HTTPClient(logger: logger)
        let base = "http://127.0.0.1:\(port)"

        let live = try await client.execute(HTTPRequest(url: URL(string: base + "/livez")!))
        #expect(live.status == 200)

        let notReady = try await client.execute(HTTPRequest(url: URL(string: base + "/readyz")!))
        #expect(notReady.status == 503)
        #expect(notReady.text.contains("model: no model loaded yet"))
        readiness.markReady("model")
        let ready = try await client.execute(HTTPRequest(url: URL(string: base + "/readyz")!))
        #expect(ready.status == 200)

        let metrics = try await client.execute(HTTPRequest(url: URL(string: base + "/metrics")!))
        #expect(metrics.status == 200)
        #expect(metrics.headers["Content-Type"]?.hasPrefix("text/plain; version=0.0.4") == true)
        #expect(metrics.text.contains(#"pipeline_test_images_total{outcome="ok"} 3"#))
        #expect(metrics.text.contains("pipeline_test_step_duration_seconds_bucket"))
        try Self.checkWithPromtool(metrics.body)

        await group.triggerGracefulShutdown()
        try await running.value
        await #expect(throws: HTTPClientError.self) {
            _ = try await client.execute(
                HTTPRequest(url: URL(string: base + "/livez")!, retryPolicy: .never))
        }
    }

    /// promtool, from the Prometheus package services.sh installs, is the judge of the format.
    static func checkWithPromtool(_ exposition: Data) throws {
        guard let (status, report) = try Promtool.checkMetrics(exposition) else {
            if ProcessInfo.processInfo.environment["PIPELINE_REQUIRE_SERVICES"] == "1" {
                Issue.record("promtool is not installed; scripts/services.sh up installs it (apt package prometheus)")
            }
            return
        }
        #expect(status == 0, "promtool check metrics: \(report)")
    }

    @Test func jsonLogLinesCarryMessageLevelAndMetadata() throws {
        let lines = Mutex<[Data]>([])
        var logger = Logger(label: "json-test") { label in
            JSONLogHandler(label: label, output: { line in lines.withLock { $0.append(line) } })
        }
        logger.logLevel = .debug
        logger[metadataKey: "stage"] = "ingest"
        logger.trace("below the level")
        logger.info("staged \"a\"/b", metadata: ["bytes": "42", "keys": .array(["x", "y"])])
        logger.warning("slow")
        let captured = lines.withLock { $0 }
        #expect(captured.count == 2, "trace is below the level")
        #expect(captured.allSatisfy { $0.last == 0x0a && !$0.dropLast().contains(0x0a) }, "one object a line")
        let first = try #require(try JSONSerialization.jsonObject(with: captured[0]) as? [String: Any])
        #expect(first["message"] as? String == "staged \"a\"/b")
        #expect(first["level"] as? String == "info")
        #expect(first["logger"] as? String == "json-test")
        #expect(first["stage"] as? String == "ingest")
        #expect(first["bytes"] as? String == "42")
        #expect(first["keys"] as? [String] == ["x", "y"])
        #expect(first["time"] is String && first["source"] == nil)
        let second = try #require(try JSONSerialization.jsonObject(with: captured[1]) as? [String: Any])
        #expect(second["level"] as? String == "warning")
        #expect((second["source"] as? String)?.hasPrefix("ObservabilityServerTests.swift:") == true)
    }
}
