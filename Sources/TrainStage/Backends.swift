import Foundation
import Learning
import Logging
import PipelineCommon
import Synchronization

/// What a backend hands back to the launcher.
public struct BackendResult: Sendable {
    /// Files to log as artifacts: artifact path → local path.
    public var artifacts: [String: String]
    /// The final metrics (`val_accuracy`, `accuracy`, `val_loss`, `loss`, …).
    public var metrics: [String: Double]
    public var history: [EpochMetrics]
    public var confusion: [[Int]]?
    /// The builtin model, when the backend made one.
    public var model: ModelFile?
}

/// Everything a backend needs for one run.
public struct TrainContext: Sendable {
    public let configuration: PipelineConfiguration
    public let set: TrainingSet
    public let objects: any ObjectStore
    public let run: StagingRun
    public let runId: String
    public let logger: Logger
    /// Logs one epoch's metrics to MLflow while training goes on.
    public let logEpoch: @Sendable ([String: Double], Int) async -> Void
    /// kubernetes: submits the Job (kubectl, or local processes standing in for pods) and
    /// returns the check that throws, naming the pod, once one of them has failed for good.
    public let submitJob: @Sendable () async throws -> JobHealthCheck
}

/// A way to train: one type per `train.backend`.
protocol TrainBackend: Sendable {
    func train(_ context: TrainContext) async throws -> BackendResult
}

extension PipelineConfiguration.TrainBackendKind {
    /// The backend that trains this way.
    var implementation: any TrainBackend {
        switch self {
        case .builtin: BuiltinBackend()
        case .command: CommandBackend()
        case .kubernetes: KubernetesBackend()
        }
    }
}

/// The builtin Swift classifier: in this process with every core, or with `train.nodes`
/// worker processes of `pipeline-train node` on this machine that each train an epoch on
/// their shard and whose parameters are averaged after each epoch.
struct BuiltinBackend: TrainBackend {
    func train(_ context: TrainContext) async throws -> BackendResult {
        try await BuiltinTraining.train(
            context, exchange: context.configuration.train.nodes == 1 ? nil : LocalExchange())
    }
}

/// The builtin classifier on the pods of a Kubernetes Indexed Job: each epoch the pods train
/// their shards from parameters exchanged through the object store (``ObjectStoreExchange``).
struct KubernetesBackend: TrainBackend {
    func train(_ context: TrainContext) async throws -> BackendResult {
        try await BuiltinTraining.train(context, exchange: ObjectStoreExchange(submit: context.submitJob))
    }
}

/// Training the builtin model: in this process (`exchange` nil), or by nodes that swap
/// parameters each epoch through `exchange`.
enum BuiltinTraining {
    static func train(_ context: TrainContext, exchange: (any NodeExchange)?) async throws -> BackendResult {
        let settings = context.configuration.train
        let set = context.set
        let architecture = Architecture(
            input: [3, set.variant.height, set.variant.width],
            convolutions: settings.model == "softmax" ? [] : settings.convolutions, classes: set.classes.count)
        if let problem = architecture.problem {
            throw TrainError(
                "train.convolutions \(settings.convolutions.map(String.init).joined(separator: ",")) on the training variant \(set.variant.name) of \(set.version.id): \(problem)"
            )
        }
        let options = TrainingOptions(
            epochs: settings.epochs, batchSize: settings.batchSize, learningRate: settings.learningRate,
            momentum: settings.momentum, weightDecay: settings.weightDecay, patience: settings.patience,
            seed: settings.seed)
        let validation = try await set.examples(set.validation, run: context.run, objects: context.objects)
        let trainer = Trainer(architecture: architecture, options: options)
        var history: [EpochMetrics] = []
        if let exchange {
            history = try await MultiNode(
                context: context, trainer: trainer, validation: validation, exchange: exchange
            ).run()
        } else {
            let training = try await set.examples(
                set.shard(rank: 0, nodes: 1, limit: settings.imagesPerNode), run: context.run, objects: context.objects)
            context.logger.info(
                "training",
                metadata: [
                    "images": "\(training.count)", "validation": "\(validation.count)",
                    "classes": "\(set.classes.joined(separator: ","))",
                ])
            let (stream, continuation) = AsyncStream.makeStream(of: EpochMetrics.self)
            let logging = Task {
                for await metrics in stream { await context.logEpoch(metrics.asMetrics, metrics.epoch) }
            }
            history = try await BlockingPools.compute.runIfActive {
                let history = trainer.fit(training, validation: validation) { continuation.yield($0) }
                continuation.finish()
                return history
            }
            await logging.value
        }
        let evaluation = try await BlockingPools.compute.runIfActive { trainer.evaluate(validation) }
        let best = history.max { $0.validationAccuracy < $1.validationAccuracy }
        var metrics = best?.asMetrics ?? [:]
        metrics["val_accuracy"] = evaluation.accuracy
        metrics["val_loss"] = evaluation.loss
        metrics["epochs"] = Double(history.count)
        let model = ModelFile(
            header: .init(
                architecture: architecture, classes: set.classes, mean: set.mean,
                standardDeviation: set.standardDeviation, variant: set.variant,
                parameterCount: architecture.parameterCount, datasetVersion: set.version.id, metrics: metrics),
            parameters: trainer.parameters)
        let path = context.run.outputDirectory + "/model.ipm"
        try model.write(to: path)
        return BackendResult(
            artifacts: ["model/model.ipm": path], metrics: metrics, history: history, confusion: evaluation.confusion,
            model: model)
    }

}

extension EpochMetrics {
    /// An epoch's metrics as MLflow logs them.
    var asMetrics: [String: Double] {
        [
            "loss": loss, "accuracy": accuracy, "val_loss": validationLoss, "val_accuracy": validationAccuracy,
            "images_per_second": imagesPerSecond,
        ]
    }
}

/// How the coordinator and its nodes swap parameters each epoch: files and local processes
/// (``LocalExchange``), or the object store and Kubernetes pods (``ObjectStoreExchange``).
protocol NodeExchange: Sendable {
    /// Prepares and starts the nodes; returns how many training images each has.
    func start(_ context: TrainContext, plan: NodeFiles.Plan) async throws -> [Int]
    /// Hands `parameters` to every node for `epoch` and returns each node's parameters and result.
    func epoch(_ epoch: Int, parameters: [Float]) async throws -> [([Float], NodeFiles.Result)]
    /// Tells the nodes training is over.
    func finish() async throws
}

/// The coordinator of multi-node training: each epoch every node trains on its shard from
/// the same parameters, and the coordinator averages what comes back (weighted by images),
/// evaluates on the validation set, and stops early like the single-node trainer.
public struct MultiNode {
    let context: TrainContext
    let trainer: Trainer
    let validation: [Example]
    let exchange: any NodeExchange

    func run() async throws -> [EpochMetrics] {
        let settings = context.configuration.train
        var options = trainer.options
        options.threads = max(1, ProcessInfo.processInfo.activeProcessorCount / settings.nodes)
        let plan = NodeFiles.Plan(
            architecture: trainer.architecture, options: options, classes: context.set.classes,
            mean: context.set.mean, standardDeviation: context.set.standardDeviation, variant: context.set.variant,
            nodes: settings.nodes)
        let counts = try await exchange.start(context, plan: plan)
        var history: [EpochMetrics] = []
        var best = (accuracy: -1.0, parameters: trainer.parameters)
        var stale = 0
        do {
            try await epochs(options, counts: counts, history: &history, best: &best, stale: &stale)
        } catch {
            try? await exchange.finish()
            throw error
        }
        try await exchange.finish()
        trainer.setParameters(best.parameters)
        return history
    }

    private func epochs(
        _ options: TrainingOptions, counts: [Int], history: inout [EpochMetrics],
        best: inout (accuracy: Double, parameters: [Float]), stale: inout Int
    ) async throws {
        for epoch in 1...options.epochs {
            let started = Date()
            let results = try await exchange.epoch(epoch, parameters: trainer.parameters)
            var sum = [Double](repeating: 0, count: trainer.parameters.count)
            var loss = 0.0
            var correct = 0.0
            let total = Double(max(1, counts.reduce(0, +)))
            for (rank, (parameters, result)) in results.enumerated() {
                let weight = Double(counts[rank]) / total
                for index in sum.indices { sum[index] += Double(parameters[index]) * weight }
                loss += result.loss * Double(counts[rank])
                correct += result.accuracy * Double(counts[rank])
            }
            trainer.setParameters(sum.map { Float($0) })
            let (trainer, validation) = (self.trainer, self.validation)
            let evaluation = try await BlockingPools.compute.runIfActive { trainer.evaluate(validation) }
            let metrics = EpochMetrics(
                epoch: epoch, loss: loss / total, accuracy: correct / total, validationLoss: evaluation.loss,
                validationAccuracy: evaluation.accuracy,
                imagesPerSecond: total / max(Date().timeIntervalSince(started), 1e-6))
            history.append(metrics)
            await context.logEpoch(metrics.asMetrics, epoch)
            if evaluation.accuracy > best.accuracy {
                best = (evaluation.accuracy, trainer.parameters)
                stale = 0
            } else {
                stale += 1
                if stale >= options.patience { break }
            }
        }
    }

    /// `pipeline-train` beside the running executable (the build directory, or the image's bin).
    public static func pipelineTrain() -> String {
        let me =
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: me).deletingLastPathComponent().appendingPathComponent("pipeline-train").path
    }

    static func runProcess(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil, log: String
    )
        async throws -> Int32
    {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        FileManager.default.createFile(atPath: log, contents: nil)
        process.standardOutput = FileHandle(forWritingAtPath: log)
        process.standardError = FileHandle(forWritingAtPath: log)
        try process.run()
        while process.isRunning { try await Task.sleep(for: .milliseconds(20)) }
        return process.terminationStatus
    }
}

/// Nodes as local processes: shards and parameters in files of the run's staging
/// directory; one `pipeline-train node` process per node and epoch.
final class LocalExchange: NodeExchange {
    /// The nodes' folder and their count, settled by ``start(_:plan:)``.
    private let started = Mutex<(state: String, nodes: Int)?>(nil)

    func start(_ context: TrainContext, plan: NodeFiles.Plan) async throws -> [Int] {
        let state = context.run.outputDirectory + "/nodes"
        started.withLock { $0 = (state, plan.nodes) }
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        var counts: [Int] = []
        for rank in 0..<plan.nodes {
            let shard = context.set.shard(
                rank: rank, nodes: plan.nodes, limit: context.configuration.train.imagesPerNode)
            let examples = try await context.set.examples(shard, run: context.run, objects: context.objects)
            try NodeFiles.writeExamples(examples, to: "\(state)/shard-\(rank).bin")
            counts.append(examples.count)
        }
        try NodeFiles.write(plan, to: "\(state)/plan.json")
        return counts
    }

    func epoch(_ epoch: Int, parameters: [Float]) async throws -> [([Float], NodeFiles.Result)] {
        guard let (state, nodes) = started.withLock({ $0 }) else { throw TrainError("the nodes were not started") }
        try NodeFiles.writeFloats(parameters, to: "\(state)/params.bin")
        let executable = MultiNode.pipelineTrain()
        let statuses = try await concurrentMap(count: nodes, limit: nodes) { rank in
            try await MultiNode.runProcess(
                executable, ["node", "--state", state, "--rank", "\(rank)", "--epoch", "\(epoch)"],
                log: "\(state)/node-\(rank).log")
        }
        if let failed = statuses.firstIndex(where: { $0 != 0 }) {
            throw TrainError("node \(failed) exited with \(statuses[failed]); see \(state)/node-\(failed).log")
        }
        return try (0..<nodes).map { rank in
            (
                try NodeFiles.readFloats("\(state)/params-\(rank).bin"),
                try NodeFiles.read(NodeFiles.Result.self, from: "\(state)/result-\(rank).json")
            )
        }
    }

    func finish() async throws {}
}

/// The files a local node process reads and writes.
public enum NodeFiles {
    public struct Plan: Codable, Sendable {
        public let architecture: Architecture
        public let options: TrainingOptions
        public let classes: [String]
        public let mean: [Double]
        public let standardDeviation: [Double]
        public let variant: VariantSpec
        public let nodes: Int
    }

    public struct Result: Codable, Sendable {
        public let loss: Double
        public let accuracy: Double
        public let images: Int
    }

    /// One node's epoch: read the plan, the shared parameters and the shard, train one
    /// epoch, write the parameters and the result.
    public static func runNode(state: String, rank: Int, epoch: Int) throws {
        let plan = try read(Plan.self, from: "\(state)/plan.json")
        let parameters = try readFloats("\(state)/params.bin")
        let examples = try readExamples("\(state)/shard-\(rank).bin")
        let trainer = Trainer(architecture: plan.architecture, options: plan.options, parameters: parameters)
        let (loss, accuracy) = trainer.trainEpoch(examples, epoch: epoch &* 131 &+ rank)
        try writeFloats(trainer.parameters, to: "\(state)/params-\(rank).bin")
        try write(Result(loss: loss, accuracy: accuracy, images: examples.count), to: "\(state)/result-\(rank).json")
    }

    static func write<T: Encodable>(_ value: T, to path: String) throws {
        try JSONEncoder().encode(value).write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    static func read<T: Decodable>(_ type: T.Type, from path: String) throws -> T {
        try JSONDecoder().decode(type, from: Data(contentsOf: URL(fileURLWithPath: path)))
    }

    static func writeFloats(_ values: [Float], to path: String) throws {
        try values.withUnsafeBufferPointer { Data(buffer: $0) }.write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    static func readFloats(_ path: String) throws -> [Float] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }

    /// count (Int64), dimension (Int64), then per example: label (Int64) and `dimension` floats.
    static func writeExamples(_ examples: [Example], to path: String) throws {
        var data = Data()
        let dimension = examples.first?.pixels.count ?? 0
        withUnsafeBytes(of: Int64(examples.count)) { data.append(contentsOf: $0) }
        withUnsafeBytes(of: Int64(dimension)) { data.append(contentsOf: $0) }
        for example in examples {
            withUnsafeBytes(of: Int64(example.label)) { data.append(contentsOf: $0) }
            example.pixels.withUnsafeBufferPointer { data.append(Data(buffer: $0)) }
        }
        try data.write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    static func readExamples(_ path: String) throws -> [Example] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return data.withUnsafeBytes { raw in
            let count = Int(raw.load(fromByteOffset: 0, as: Int64.self))
            let dimension = Int(raw.load(fromByteOffset: 8, as: Int64.self))
            var offset = 16
            var examples: [Example] = []
            for _ in 0..<count {
                let label = Int(raw.loadUnaligned(fromByteOffset: offset, as: Int64.self))
                offset += 8
                let pixels = (0..<dimension).map { raw.loadUnaligned(fromByteOffset: offset + $0 * 4, as: Float.self) }
                offset += dimension * 4
                examples.append(Example(pixels: pixels, label: label))
            }
            return examples
        }
    }
}
