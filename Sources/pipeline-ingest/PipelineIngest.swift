import ArgumentParser
import Foundation
import IngestStage
import Logging
import PipelineCommon
import Prometheus
import ServiceLifecycle
import StageCommand

/// Stage 1 executable: thin; the logic lives in the IngestStage library.
struct PipelineIngest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pipeline-ingest",
        abstract: "Stage 1: pick up raw images, validate, deduplicate, annotate, augment, publish a dataset version.",
        subcommands: [Poll.self, Serve.self])
}

@main
enum Main {
    static func main() async { await CommandRunner.main(PipelineIngest.self) }
}

/// What both modes build from the configuration.
struct IngestRuntime {
    let configuration: PipelineConfiguration
    let logger: Logger
    let http: HTTPClient
    let ingestor: Ingestor
    let registry: PrometheusCollectorRegistry

    static func start(_ options: GlobalOptions) async throws -> IngestRuntime {
        let (configuration, logger) = try options.bootstrapStage()
        let registry = MetricsSetup.bootstrap()
        do {
            let connections = try StageConnections(configuration, logger: logger)
            let ingestor = Ingestor(
                configuration: configuration, objects: connections.objects,
                manifests: try await connections.manifests(),
                logger: logger)
            return IngestRuntime(
                configuration: configuration, logger: logger, http: connections.http, ingestor: ingestor,
                registry: registry)
        } catch {
            FileHandle.standardError.write(Data("pipeline-ingest: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }

    func observabilityServer(readiness: ReadinessState, endpoint: NotificationEndpoint? = nil) -> ObservabilityServer {
        let settings = configuration.observability
        return ObservabilityServer(
            host: settings.metricsHost, port: settings.metricsPort, registry: registry,
            readiness: readiness, logger: logger, routes: { router in endpoint?.register(on: router) })
    }
}

struct Poll: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the raw prefix (ListObjectsV2), ingest what is new or changed, publish.",
        discussion: """
            With --once: one pass, a summary on standard output, then exit (0 ok, 1 when objects \
            failed every attempt; rejected images are recorded, not failures). Without: a pass every \
            ingest.poll_interval_seconds, with /metrics, /livez and /readyz served, until SIGTERM.
            """)

    @OptionGroup var options: GlobalOptions

    @Flag(help: "One pass, then exit.")
    var once = false

    func run() async throws {
        let runtime = try await IngestRuntime.start(options)
        if once {
            let deadBefore =
                try await runtime.ingestor.manifests.queueCounts(
                    queue: "ingest/" + runtime.configuration.ingest.dataset)[.dead] ?? 0
            let report: Ingestor.RunReport
            do {
                report = try await runtime.ingestor.runOnce(progress: ProgressLine())
            } catch {
                FileHandle.standardError.write(Data("pipeline-ingest: \(error)\n".utf8))
                throw ExitCode(1)
            }
            print(Self.summary(report))
            if report.dead > deadBefore {
                FileHandle.standardError.write(
                    Data(
                        "pipeline-ingest: \(report.dead - deadBefore) objects failed every attempt; see the log, fix the cause, and run again\n"
                            .utf8))
                throw ExitCode(1)
            }
            return
        }
        let readiness = ReadinessState()
        let loop = IngestLoop(
            ingestor: runtime.ingestor, mode: .poll(interval: runtime.configuration.ingest.pollInterval),
            readiness: readiness, logger: runtime.logger)
        let group = ServiceGroup.stage(
            services: [runtime.observabilityServer(readiness: readiness), loop], configuration: runtime.configuration,
            logger: runtime.logger)
        try await group.run()
    }

    static func summary(_ report: Ingestor.RunReport) -> String {
        let work = report.work
        let rate = report.seconds > 0 ? Double(work.objects) / report.seconds : 0
        var line = String(
            format:
                "listed %d, queued %d; ingested %d objects (%d accepted, %d rejected, %d duplicates, %d items) in %.2f s: %.1f images/s",
            report.poll.listed, report.poll.queued, work.objects, work.accepted, work.rejected, work.duplicates,
            work.items, report.seconds, rate)
        if work.removed > 0 { line += "; removed \(work.removed) deleted objects" }
        if work.reannotated > 0 { line += "; re-annotated \(work.reannotated) images" }
        if let version = report.published {
            line += "; published \(version.id) (\(version.itemCount) items) at \(version.manifestURI ?? "?")"
        } else {
            line += "; nothing new to publish"
        }
        return line
    }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Receive S3 bucket notifications on POST /events (AWS, RustFS, MinIO, SNS) and ingest what they name.",
        discussion: """
            Listens on observability.metrics_host:metrics_port, which also serves /metrics, /livez \
            and /readyz. Point the bucket's webhook (RustFS/MinIO) or SNS subscription at \
            http://<host>:<port>/events; set ingest.webhook_token to require a token.
            """)

    @OptionGroup var options: GlobalOptions

    func run() async throws {
        let runtime = try await IngestRuntime.start(options)
        let readiness = ReadinessState()
        let endpoint = NotificationEndpoint(ingestor: runtime.ingestor, http: runtime.http, logger: runtime.logger)
        let loop = IngestLoop(
            ingestor: runtime.ingestor, mode: .events(interval: .seconds(1)), readiness: readiness,
            logger: runtime.logger)
        let group = ServiceGroup.stage(
            services: [runtime.observabilityServer(readiness: readiness, endpoint: endpoint), loop],
            configuration: runtime.configuration, logger: runtime.logger)
        try await group.run()
    }
}
