import Hummingbird
import Logging
import NIOCore
import Prometheus
import ServiceLifecycle

/// The HTTP server any stage starts for `/metrics` (Prometheus text format), `/livez` and
/// `/readyz`. A swift-service-lifecycle `Service`: run it in the stage's `ServiceGroup` and it
/// stops gracefully with the group (SIGTERM, SIGINT).
public struct ObservabilityServer: Service {
    public let host: String
    public let port: Int
    private let registry: PrometheusCollectorRegistry
    private let readiness: ReadinessState
    private let logger: Logger
    private let onRunning: @Sendable (Int) async -> Void
    private let routes: @Sendable (Router<BasicRequestContext>) -> Void

    /// - Parameters:
    ///   - routes: adds a stage's own endpoints (ingest's bucket-notification webhook) to the same server.
    ///   - onRunning: called with the bound port once the server listens (useful with port 0).
    public init(
        host: String, port: Int, registry: PrometheusCollectorRegistry, readiness: ReadinessState, logger: Logger,
        routes: @escaping @Sendable (Router<BasicRequestContext>) -> Void = { _ in },
        onRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) {
        self.routes = routes
        self.host = host
        self.port = port
        self.registry = registry
        self.readiness = readiness
        self.logger = logger
        self.onRunning = onRunning
    }

    public func run() async throws {
        let router = Router()
        let registry = self.registry
        let readiness = self.readiness
        router.get("/metrics") { _, _ -> Response in
            var buffer: [UInt8] = []
            buffer.reserveCapacity(16 << 10)
            registry.emit(into: &buffer)
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: buffer)))
        }
        router.get("/livez") { _, _ -> Response in
            Self.text("ok\n")
        }
        router.get("/readyz") { _, _ -> Response in
            let reasons = readiness.notReadyReasons
            return reasons.isEmpty
                ? Self.text("ok\n") : Self.text(reasons.joined(separator: "\n") + "\n", ready: false)
        }
        routes(router)
        let onRunning = self.onRunning
        let logger = self.logger
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port), serverName: "image-pipeline"),
            onServerRunning: { channel in
                let bound = channel.localAddress?.port ?? 0
                logger.info("observability server listening", metadata: ["host": "\(host)", "port": "\(bound)"])
                await onRunning(bound)
            },
            logger: logger)
        // As a service of the stage's group, not a group of its own: the stage's group shuts its
        // services down in order (the workers first, this server last), where `runService()`
        // would end the server on SIGTERM by itself and the group would cancel the workers.
        try await app.run()
    }

    private static func text(_ body: String, ready: Bool = true) -> Response {
        Response(
            status: ready ? .ok : .serviceUnavailable, headers: [.contentType: "text/plain; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}
