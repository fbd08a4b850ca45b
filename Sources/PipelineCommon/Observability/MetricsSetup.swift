import Metrics
import Prometheus

/// Installs swift-prometheus as the process-wide swift-metrics backend.
public enum MetricsSetup {
    /// Bootstraps the metrics system once and returns the registry that `/metrics` renders.
    /// Call at the start of `main`; later calls return the same registry.
    public static func bootstrap() -> PrometheusCollectorRegistry {
        _ = installed
        return registry
    }

    /// The registry every metric of this process is recorded in.
    public static let registry = PrometheusCollectorRegistry()

    /// A factory writing into `registry` with the pipeline's buckets and help texts.
    public static func factory(registry: PrometheusCollectorRegistry) -> DocumentedMetricsFactory {
        DocumentedMetricsFactory(
            registry: registry,
            durationBuckets: [
                .milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
                .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500),
                .seconds(5), .seconds(10), .seconds(30), .seconds(60),
            ],
            valueBuckets: [0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 1, 10, 100, 1000, 10_000])
    }

    private static let installed: Bool = {
        MetricsSystem.bootstrap(factory(registry: registry))
        return true
    }()
}
