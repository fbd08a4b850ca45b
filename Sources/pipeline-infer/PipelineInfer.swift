import ArgumentParser
import Foundation
import InferStage
import Logging
import PipelineCommon
import Prometheus
import ServiceLifecycle
import StageCommand

/// Stage 4 executable: thin; the logic lives in the InferStage library.
struct PipelineInfer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pipeline-infer",
        abstract: "Stage 4: predictions by the model behind the alias \"approved\", in batch or as a service.",
        subcommands: [Batch.self, Serve.self])
}

@main
enum Main {
    static func main() async { await CommandRunner.main(PipelineInfer.self) }
}

struct Runtime {
    let configuration: PipelineConfiguration
    let logger: Logger
    let http: HTTPClient
    let objects: any ObjectStore
    let source: ModelSource
    let connections: StageConnections

    static func start(_ options: GlobalOptions, modelVersion: String? = nil) throws -> Runtime {
        let (configuration, logger) = try options.bootstrapStage()
        do {
            let connections = try StageConnections(configuration, logger: logger)
            let source = ModelSource(
                mlflow: connections.mlflow, staging: StagingArea(configuration.staging, logger: logger),
                name: configuration.train.registeredModel, pinned: modelVersion)
            return Runtime(
                configuration: configuration, logger: logger, http: connections.http, objects: connections.objects,
                source: source, connections: connections)
        } catch {
            FileHandle.standardError.write(Data("pipeline-infer: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}

struct Batch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Predict every image of a dataset version (or under a prefix); publish an infer version and write Label Studio tasks and COCO results."
    )

    @OptionGroup var options: GlobalOptions

    @Option(help: "The dataset version to predict (default: the latest ingest version of ingest.dataset).")
    var dataset: String?

    @Option(help: "Predict the objects under this prefix instead of a dataset version.")
    var prefix: String?

    @Option(help: "Import the tasks into this Label Studio project (needs LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY).")
    var importToProject: Int?

    func run() async throws {
        let runtime = try Runtime.start(options)
        _ = MetricsSetup.bootstrap()
        let configuration = runtime.configuration
        if importToProject != nil, configuration.labelStudio.url == nil || configuration.labelStudio.apiKey == nil {
            FileHandle.standardError.write(
                Data("pipeline-infer: --import-to-project needs LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY\n".utf8))
            throw ExitCode(2)
        }
        try await CommandRunner.failing(as: "pipeline-infer") {
            let manifests = try await runtime.connections.manifests()
            let model = try await runtime.source.loadCurrent()
            let batch = BatchInference(
                configuration: configuration, objects: runtime.objects, manifests: manifests, model: model,
                logger: runtime.logger)
            let report: BatchInference.Report
            if let prefix {
                report = try await batch.run(
                    items: try await batch.items(under: prefix), inputName: configuration.ingest.dataset, parent: nil,
                    progress: ProgressLine())
            } else {
                let input: DatasetVersion
                if let dataset {
                    guard let found = try await manifests.version(dataset) else {
                        throw InferError("no dataset version \(dataset); see pipelinectl datasets list")
                    }
                    input = found
                } else {
                    guard
                        let latest = try await manifests.latestPublished(
                            name: configuration.ingest.dataset, stage: "ingest")
                    else { throw InferError("dataset \(configuration.ingest.dataset) has no published ingest version") }
                    input = latest
                }
                report = try await batch.run(
                    items: try await batch.items(of: input), inputName: input.name, parent: input.id,
                    progress: ProgressLine())
            }
            let rate = report.seconds > 0 ? Double(report.images) / report.seconds : 0
            print(
                String(
                    format: "predicted %d images (%d refused) with %@ version %@ in %.2f s: %.1f images/s",
                    report.images, report.failed, model.name, model.version, report.seconds, rate))
            if let version = report.version { print("published \(version.id)") }
            for (name, key) in report.outputs.sorted(by: { $0.key < $1.key }) {
                print("\(name): \(runtime.objects.location.uri(of: key))")
            }
            if let project = importToProject, let key = report.outputs["label_studio_tasks"],
                let client = LabelStudioClient(settings: configuration.labelStudio, http: runtime.http)
            {
                let file = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString).path
                defer { unlink(file) }
                _ = try await runtime.objects.get(key, to: file)
                let imported = try await client.importTasks(
                    project: project, tasks: try Data(contentsOf: URL(fileURLWithPath: file)))
                print("imported \(imported) tasks into Label Studio project \(project)")
            }
        }
    }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve POST /predict with the approved model, swapping models when the alias moves.",
        discussion: """
            Listens on observability.metrics_host:metrics_port with /metrics, /livez and /readyz \
            (ready once a model is loaded). Checks the alias every infer.poll_interval_seconds.
            """)

    @OptionGroup var options: GlobalOptions

    @Option(
        help: ArgumentHelp(
            "Serve this version of the registered model, whatever the alias says (an evaluation sprint's service task).",
            valueName: "version"))
    var modelVersion: String?

    func run() async throws {
        let runtime = try Runtime.start(options, modelVersion: modelVersion)
        let registry = MetricsSetup.bootstrap()
        let configuration = runtime.configuration
        let readiness = ReadinessState()
        let holder = ModelHolder(readiness: readiness)
        try await StagingArea(configuration.staging, logger: runtime.logger).withRun(
            stage: "infer", runId: "serve-\(getpid())"
        ) { scratch in
            try await serve(runtime, registry: registry, readiness: readiness, holder: holder, scratch: scratch)
        }
    }

    private func serve(
        _ runtime: Runtime, registry: PrometheusCollectorRegistry, readiness: ReadinessState, holder: ModelHolder,
        scratch: StagingRun
    ) async throws {
        let configuration = runtime.configuration
        let endpoint = PredictionEndpoint(
            holder: holder, objects: runtime.objects, configuration: configuration, scratch: scratch,
            logger: runtime.logger)
        let watcher = ModelWatcher(
            source: runtime.source, holder: holder, interval: configuration.infer.pollInterval, logger: runtime.logger)
        let server = ObservabilityServer(
            host: configuration.observability.metricsHost, port: configuration.observability.metricsPort,
            registry: registry, readiness: readiness, logger: runtime.logger,
            routes: { endpoint.register(on: $0) })
        let group = ServiceGroup.stage(
            services: [server, watcher, ThroughputGauge()], configuration: configuration, logger: runtime.logger)
        try await group.run()
    }
}
