import ArgumentParser
import Foundation
import Logging
import PipelineCommon
import StageCommand
import TrainStage

/// Stage 3 executable: thin; the logic lives in the TrainStage library.
struct PipelineTrain: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pipeline-train",
        abstract:
            "Stage 3: train on a normalize version (builtin, command or kubernetes), track it in MLflow, register the model.",
        discussion: """
            Prints the run, the metrics and the registered version. --approve-if 'val_accuracy>=0.9' \
            moves the registered model's alias "approved" to the new version only when the metric \
            passes. Exit codes: 0 trained (approved or not), 1 failed (the MLflow run is marked FAILED), \
            2 bad usage or configuration.
            """,
        subcommands: [Train.self, Node.self], defaultSubcommand: Train.self)
}

@main
enum Main {
    static func main() async { await CommandRunner.main(PipelineTrain.self) }
}

struct Train: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Train once (the default).")

    @OptionGroup var options: GlobalOptions

    @Option(help: "The normalize version to train on (default: the latest of ingest.dataset).")
    var dataset: String?

    @Option(help: "builtin, command or kubernetes; overrides train.backend.")
    var backend: String?

    @Option(help: "Move the alias \"approved\" to the new version only if this holds, e.g. 'val_accuracy>=0.9'.")
    var approveIf: String?

    @Flag(help: "kubernetes: print the Job manifest and exit.")
    var dryRun = false

    @Flag(help: "kubernetes: submit the Job with kubectl and follow it.")
    var apply = false

    func validate() throws {
        if let backend, !["builtin", "command", "kubernetes"].contains(backend) {
            throw ValidationError("--backend \(backend) is not a backend; use builtin, command or kubernetes")
        }
        if let approveIf, ApprovalGate.parse(approveIf) == nil {
            throw ValidationError(
                "--approve-if '\(approveIf)' is not METRIC>=NUMBER (or >, <=, <, ==), e.g. val_accuracy>=0.9")
        }
    }

    func run() async throws {
        var (configuration, logger) = try options.bootstrap()
        if let backend { configuration.train.backend = backend }
        if configuration.train.backend == "kubernetes" {
            try await kubernetes(configuration, logger: logger)
            return
        }
        if configuration.train.backend == "command", configuration.train.command == nil {
            FileHandle.standardError.write(
                Data("pipeline-train: train.command must name the trainer when the backend is command\n".utf8))
            throw ExitCode(2)
        }
        do {
            let http = HTTPClient(configuration: .init(configuration.http), logger: logger)
            let objects = try ObjectStoreFactory.make(configuration, http: http, logger: logger)
            let manifests = try await ManifestStoreFactory.openMigrated(configuration)
            let launcher = TrainLauncher(
                configuration: configuration, objects: objects, manifests: manifests,
                mlflow: MLflowClient(settings: configuration.mlflow, http: http, artifactStore: objects), logger: logger
            )
            let dataset = try await launcher.resolveDataset(dataset)
            let outcome = try await launcher.run(dataset: dataset, approveIf: approveIf.flatMap(ApprovalGate.parse))
            let metrics = outcome.metrics.sorted { $0.key < $1.key }.map {
                "\($0.key)=\(String(format: "%.4f", $0.value))"
            }
            print("run \(outcome.runId) on \(outcome.datasetVersion): \(metrics.joined(separator: " "))")
            print(
                String(
                    format: "trained on %d images in %.1f s (%.0f images/s over all epochs)", outcome.images,
                    outcome.seconds,
                    Double(outcome.images) * (outcome.metrics["epochs"] ?? 1) / max(outcome.seconds, 0.001)))
            if let version = outcome.modelVersion {
                print("registered \(configuration.train.registeredModel) version \(version.version)")
            }
            if let approval = outcome.approval {
                print(approval.passed ? "approved: \(approval.reason)" : "not approved: \(approval.reason)")
            }
        } catch let exit as ExitCode {
            throw exit
        } catch {
            FileHandle.standardError.write(Data("pipeline-train: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }

    func kubernetes(_ configuration: PipelineConfiguration, logger: Logger) async throws {
        let runId = UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        let yaml = try KubernetesJob.yaml(
            configuration: configuration, runId: runId, configMap: "image-pipeline-config")
        if dryRun || !apply {
            print(yaml, terminator: "")
            if !dryRun {
                FileHandle.standardError.write(
                    Data("pipeline-train: printed the Job; add --apply to submit it with kubectl\n".utf8))
            }
            return
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["kubectl", "apply", "-f", "-"]
        let input = Pipe()
        process.standardInput = input
        do {
            try process.run()
        } catch {
            FileHandle.standardError.write(Data("pipeline-train: cannot run kubectl: \(error)\n".utf8))
            throw ExitCode(1)
        }
        input.fileHandleForWriting.write(Data(yaml.utf8))
        try input.fileHandleForWriting.close()
        while process.isRunning { try await Task.sleep(for: .milliseconds(50)) }
        guard process.terminationStatus == 0 else { throw ExitCode(1) }
        let name = KubernetesJob.name(runId: runId)
        logger.info("job submitted; following it", metadata: ["job": "\(name)"])
        while true {
            try await Task.sleep(for: .seconds(5))
            let status = Process()
            status.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            status.arguments = [
                "kubectl", "get", "job", name, "-n", configuration.train.namespace, "-o",
                "jsonpath={.status.succeeded} {.status.failed}",
            ]
            let output = Pipe()
            status.standardOutput = output
            try status.run()
            let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            status.waitUntilExit()
            let parts = text.split(separator: " ").map { Int($0) ?? 0 }
            let succeeded = parts.first ?? 0
            let failed = parts.count > 1 ? parts[1] : 0
            print("job \(name): \(succeeded)/\(configuration.train.nodes) succeeded, \(failed) failed")
            if failed > 0 { throw ExitCode(1) }
            if succeeded >= configuration.train.nodes { return }
        }
    }
}

/// One node of local multi-node builtin training (started by the launcher, one epoch a run).
struct Node: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Internal: one node's epoch of local multi-node builtin training.", shouldDisplay: false)

    @Option var state: String
    @Option var rank: Int
    @Option var epoch: Int

    func run() throws {
        try NodeFiles.runNode(state: state, rank: rank, epoch: epoch)
    }
}
