import ArgumentParser
import Foundation
import Logging
import NormalizeStage
import PipelineCommon
import StageCommand

/// Stage 2 executable: thin; the logic lives in the NormalizeStage library.
struct PipelineNormalize: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pipeline-normalize",
        abstract: "Stage 2: make every configured size variant of an ingest version's images, in one decode each.",
        discussion: """
            Runs until the input is done (several replicas share the work), publishes a normalize \
            version and prints a summary. Running again on the same input and configuration \
            writes nothing and prints the same version. Exit codes: 0 ok, 1 failed, 2 bad usage \
            or configuration (an unknown fit, a bad key template, an unavailable resizer).
            """)

    @OptionGroup var options: GlobalOptions

    @Option(help: "The ingest version to normalize (default: the latest of ingest.dataset).")
    var dataset: String?

    @Option(help: "cpu (libvips) or gpu; overrides normalize.resizer.")
    var resizer: String?

    func validate() throws {
        if let resizer, !["cpu", "gpu"].contains(resizer) {
            throw ValidationError("--resizer \(resizer) is not a resizer; use cpu or gpu")
        }
    }

    func run() async throws {
        let (configuration, logger) = try options.bootstrapStage()
        _ = MetricsSetup.bootstrap()
        let chosen: any Resizer
        do {
            chosen = try Normalizer.resizer(
                named: resizer ?? configuration.normalize.resizer, threads: configuration.normalize.vipsThreads)
        } catch {
            FileHandle.standardError.write(Data("pipeline-normalize: \(error)\n".utf8))
            throw ExitCode(2)
        }
        try await CommandRunner.failing(as: "pipeline-normalize") {
            let connections = try StageConnections(configuration, logger: logger)
            let (objects, manifests) = (connections.objects, try await connections.manifests())
            let normalizer = Normalizer(
                configuration: configuration, objects: objects, manifests: manifests, resizer: chosen, logger: logger)
            let input: DatasetVersion
            if let dataset {
                guard let found = try await manifests.version(dataset) else {
                    FileHandle.standardError.write(
                        Data("pipeline-normalize: no dataset version \(dataset); see pipelinectl datasets list\n".utf8))
                    throw ExitCode(1)
                }
                input = found
            } else {
                guard let latest = try await normalizer.latestIngestVersion(dataset: configuration.ingest.dataset)
                else {
                    FileHandle.standardError.write(
                        Data(
                            "pipeline-normalize: dataset \(configuration.ingest.dataset) has no published ingest version; run pipeline-ingest first\n"
                                .utf8))
                    throw ExitCode(1)
                }
                input = latest
            }
            let report = try await normalizer.run(input: input, progress: ProgressLine())
            guard let version = report.version else {
                FileHandle.standardError.write(
                    Data(
                        "pipeline-normalize: \(input.id) is not finished (other workers hold images, or \(report.dead) failed every attempt); run again\n"
                            .utf8))
                throw ExitCode(1)
            }
            if report.reused {
                print("\(input.id) was normalized with this configuration before: \(version.id) (nothing written)")
            } else {
                let rate = report.seconds > 0 ? Double(report.images) / report.seconds : 0
                print(
                    String(
                        format:
                            "normalized %d images (%d variant files written) in %.2f s: %.1f images/s; published %@ (%d items)",
                        report.images, report.variantsWritten, report.seconds, rate, version.id, version.itemCount))
            }
            if report.dead > 0 {
                FileHandle.standardError.write(
                    Data("pipeline-normalize: \(report.dead) images failed every attempt; see the log\n".utf8))
                throw ExitCode(1)
            }
        }
    }
}

@main
enum Main {
    static func main() async { await CommandRunner.main(PipelineNormalize.self) }
}
