import Logging
import ServiceLifecycle

extension ServiceGroup {
    /// A stage's services, shut down gracefully on SIGTERM or SIGINT: each service stops taking
    /// work and finishes what it holds (a worker records the batch in hand and claims no other)
    /// for `observability.shutdown_grace_seconds`; what is still running then is cancelled, and
    /// its claims come back to the next worker (at once on this host, else after their lease).
    public static func stage(
        services: [any Service], configuration: PipelineConfiguration, logger: Logger
    ) -> ServiceGroup {
        var group = ServiceGroupConfiguration(
            services: services.map { .init(service: $0) }, gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger)
        group.maximumGracefulShutdownDuration = configuration.observability.shutdownGrace
        return ServiceGroup(configuration: group)
    }
}
