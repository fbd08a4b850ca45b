import ArgumentParser
import Foundation
import IngestStage
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
        subcommands: [Train.self, Shard.self, Node.self], defaultSubcommand: Train.self)
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
    var backend: PipelineConfiguration.TrainBackendKind?

    @Option(help: "Move the alias \"approved\" to the new version only if this holds, e.g. 'val_accuracy>=0.9'.")
    var approveIf: String?

    @Flag(help: "kubernetes: print the Job manifest and exit.")
    var dryRun = false

    @Flag(help: "kubernetes: submit the Job with kubectl and coordinate its pods.")
    var apply = false

    @Flag(help: "kubernetes: run the Job's pods as local processes instead (no cluster needed).")
    var localPods = false

    func validate() throws {
        if let approveIf, ApprovalGate.parse(approveIf) == nil {
            throw ValidationError(
                "--approve-if '\(approveIf)' is not METRIC>=NUMBER (or >, <=, <, ==), e.g. val_accuracy>=0.9")
        }
    }

    func run() async throws {
        var (configuration, logger) = try options.bootstrapStage()
        if let backend { configuration.train.backend = backend }
        if configuration.train.backend == .kubernetes, !apply, !localPods {
            let yaml = try KubernetesJob.yaml(
                configuration: configuration, runId: "<run-id>", configMap: "image-pipeline-config")
            print(yaml, terminator: "")
            if !dryRun {
                FileHandle.standardError.write(
                    Data("pipeline-train: printed the Job; --apply submits it with kubectl (or --local-pods)\n".utf8))
            }
            return
        }
        if configuration.train.backend == .command, configuration.train.command == nil {
            FileHandle.standardError.write(
                Data("pipeline-train: train.command must name the trainer when the backend is command\n".utf8))
            throw ExitCode(2)
        }
        try await CommandRunner.failing(as: "pipeline-train") {
            let connections = try StageConnections(configuration, logger: logger)
            let (objects, manifests) = (connections.objects, try await connections.manifests())
            let launcher = TrainLauncher(
                configuration: configuration, objects: objects, manifests: manifests, mlflow: connections.mlflow,
                logger: logger
            )
            let dataset = try await launcher.resolveDataset(dataset, named: configuration.ingest.dataset)
            let nodes = configuration.train.nodes
            let local = localPods
            let passThrough = options.passThrough
            let settings = configuration
            let submit: @Sendable (String) async throws -> JobHealthCheck = { runId in
                if local {
                    let pods = try LocalPods(
                        runId: runId, nodes: nodes, executable: MultiNode.pipelineTrain(), passThrough: passThrough,
                        directory: settings.staging.root + "/train/" + runId + "/pods")
                    return { try pods.check() }
                }
                _ = try await Self.kubectl(
                    ["apply", "-f", "-"],
                    input: try KubernetesJob.yaml(
                        configuration: settings, runId: runId, configMap: "image-pipeline-config"))
                let job = KubernetesJob.name(runId: runId)
                let namespace = settings.train.namespace
                return { try await Self.kubectlFailure(job: job, namespace: namespace) }
            }
            let outcome = try await launcher.run(
                dataset: dataset, approveIf: approveIf.flatMap(ApprovalGate.parse), submitJob: submit)
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
        }
    }

    /// Throws when the Job has failed (a pod past its backoff limit), naming the failed pod and
    /// quoting its last log lines; returns while the Job runs.
    static func kubectlFailure(job: String, namespace: String) async throws {
        let failed = try await kubectl([
            "get", "job", job, "-n", namespace, "-o",
            "jsonpath={.status.conditions[?(@.type==\"Failed\")].status} {.status.conditions[?(@.type==\"Failed\")].message}",
        ])
        guard failed.hasPrefix("True") else { return }
        let pods = try await kubectl([
            "get", "pods", "-n", namespace, "-l", "job-name=\(job)", "--field-selector=status.phase=Failed", "-o",
            "jsonpath={.items[*].metadata.name}",
        ]).split(separator: " ").map(String.init)
        let pod = pods.first ?? "(none left)"
        let tail = pods.isEmpty ? "" : (try? await kubectl(["logs", "-n", namespace, "--tail=10", pod])) ?? ""
        throw TrainError(
            "Job \(job) failed (\(failed.dropFirst(5))); pod \(pod)"
                + (tail.isEmpty ? "" : ", its last lines:\n  " + tail.split(separator: "\n").joined(separator: "\n  ")))
    }

    /// Runs kubectl with `arguments` (and `input` on its standard input) and returns its output.
    static func kubectl(_ arguments: [String], input: String? = nil) async throws -> String {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("kubectl-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: output) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["kubectl"] + arguments
        process.standardOutput = try FileHandle(forWritingTo: output)
        let pipe = input.map { _ in Pipe() }
        if let pipe { process.standardInput = pipe }
        do {
            try process.run()
        } catch {
            throw TrainError("cannot run kubectl: \(error)")
        }
        if let pipe, let input {
            pipe.fileHandleForWriting.write(Data(input.utf8))
            try pipe.fileHandleForWriting.close()
        }
        while process.isRunning { try await Task.sleep(for: .milliseconds(50)) }
        guard process.terminationStatus == 0 else {
            throw TrainError(
                "kubectl \(arguments.prefix(3).joined(separator: " ")) exited with \(process.terminationStatus)")
        }
        return (try? String(contentsOf: output, encoding: .utf8)) ?? ""
    }
}

/// One pod of the kubernetes backend: trains its shard epoch by epoch from the parameters
/// the coordinator publishes in the object store. Rank from `--rank` or `JOB_COMPLETION_INDEX`.
struct Shard: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "One node of a kubernetes training run (what each pod of the Job runs).")

    @OptionGroup var options: GlobalOptions
    @Option(help: "The MLflow run id the coordinator started.") var run: String
    @Option(help: "This node's rank (default: JOB_COMPLETION_INDEX).") var rank: Int?

    func run() async throws {
        let (configuration, logger) = try options.bootstrapStage()
        guard let rank = rank ?? ProcessInfo.processInfo.environment["JOB_COMPLETION_INDEX"].flatMap(Int.init) else {
            FileHandle.standardError.write(Data("pipeline-train shard: no --rank and no JOB_COMPLETION_INDEX\n".utf8))
            throw ExitCode(2)
        }
        do {
            let objects = try StageConnections(configuration, logger: logger).objects
            try await ShardNode.run(
                configuration: configuration, objects: objects, runId: run, rank: rank, logger: logger)
        } catch {
            FileHandle.standardError.write(Data("pipeline-train shard: \(error)\n".utf8))
            throw ExitCode(1)
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

// A backend that is not one of these is refused by the parser, naming the choices (exit 2).
extension PipelineConfiguration.TrainBackendKind: ExpressibleByArgument {}
