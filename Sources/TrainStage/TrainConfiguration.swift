import Foundation
import PipelineCommon

/// The `train` section: the launcher, the builtin model's hyper-parameters, the command and
/// Kubernetes backends.
public struct TrainConfiguration: ConfigSection {
    /// Where training runs (`train.backend`).
    public enum Backend: String, Sendable, CaseIterable {
        /// The builtin model in this process, or on `train.nodes` local processes.
        case builtin
        /// Any trainer process (`train.command`).
        case command
        /// The builtin model on the pods of a Kubernetes Indexed Job.
        case kubernetes
    }

    public var backend: Backend
    public var model: String
    public var convolutions: [Int]
    public var epochs: Int
    public var batchSize: Int
    public var learningRate: Double
    public var momentum: Double
    public var weightDecay: Double
    public var patience: Int
    public var validationFraction: Double
    public var seed: UInt64
    public var nodes: Int
    public var imagesPerNode: Int
    public var prefix: String
    public var registeredModel: String
    public var command: String?
    public var image: String
    public var namespace: String
    public var nodeStagingPath: String
    public var cpu: String
    public var memory: String
    public var gpus: Int

    public static let name = "train"
    public static let help = "Stage 3: the training launcher and its backends."
    public static let keys: [ConfigKey] = [
        ConfigKey(
            "train.backend", env: ["PIPELINE_TRAIN_BACKEND"], .choice(["builtin", "command", "kubernetes"]),
            default: "builtin",
            help:
                "builtin: the Swift classifier on this machine; command: any trainer process; kubernetes: an Indexed Job."
        ),
        ConfigKey(
            "train.model", env: ["PIPELINE_TRAIN_MODEL"], .choice(["cnn", "softmax"]), default: "cnn",
            help: "builtin model: a small convolutional network, or softmax regression on pixels (the baseline)."),
        ConfigKey(
            "train.convolutions", env: ["PIPELINE_TRAIN_CONVOLUTIONS"], .text, default: "8,16,32",
            help: "Output channels of each conv-ReLU-pool block of the builtin network."),
        ConfigKey(
            "train.epochs", env: ["PIPELINE_TRAIN_EPOCHS"], .integer(1...10_000), default: "20",
            help: "Most epochs to train (early stopping may end sooner)."),
        ConfigKey(
            "train.batch_size", env: ["PIPELINE_TRAIN_BATCH_SIZE"], .integer(1...65_536), default: "32",
            help: "Images per gradient step."),
        ConfigKey(
            "train.learning_rate", env: ["PIPELINE_TRAIN_LEARNING_RATE"], .number(0.000001...10), default: "0.02",
            help: "SGD step size."),
        ConfigKey(
            "train.momentum", env: [], .number(0...0.999), default: "0.9", help: "SGD momentum."),
        ConfigKey(
            "train.weight_decay", env: [], .number(0...1), default: "0.0001", help: "L2 penalty on the parameters."),
        ConfigKey(
            "train.patience", env: ["PIPELINE_TRAIN_PATIENCE"], .integer(1...1000), default: "4",
            help: "Epochs without a better validation accuracy before stopping early."),
        ConfigKey(
            "train.validation_fraction", env: [], .number(0.01...0.9), default: "0.2",
            help:
                "Share of images held out for validation, chosen by a hash of the key (augmented copies follow their original)."
        ),
        ConfigKey(
            "train.seed", env: ["PIPELINE_TRAIN_SEED"], .integer(0...Int.max), default: "1",
            help: "Seed of the initial weights and the batch order."),
        ConfigKey(
            "train.nodes", env: ["PIPELINE_TRAIN_NODES"], .integer(1...1024), default: "1",
            help: "Nodes to train on; builtin runs one process per node here and averages after each epoch."),
        ConfigKey(
            "train.images_per_node", env: ["PIPELINE_TRAIN_IMAGES_PER_NODE"], .integer(1...100_000_000),
            default: "100000", help: "Most training images one node gets."),
        ConfigKey(
            "train.prefix", env: ["PIPELINE_TRAIN_PREFIX"], .text, default: "training/",
            help: "Object-store prefix for each run's shard lists (what every node trains on)."),
        ConfigKey(
            "train.registered_model", env: ["PIPELINE_REGISTERED_MODEL"], .text, default: "image-classifier",
            help: "MLflow registered model each run adds a version to."),
        ConfigKey(
            "train.command", env: ["PIPELINE_TRAIN_COMMAND"], .text,
            help: "command backend: the trainer, run with /bin/sh -c (see README for its contract)."),
        ConfigKey(
            "train.image", env: ["PIPELINE_TRAIN_IMAGE"], .text, default: "ghcr.io/image-pipeline/pipeline:latest",
            help: "kubernetes backend: the container image of each node."),
        ConfigKey(
            "train.namespace", env: ["PIPELINE_TRAIN_NAMESPACE"], .text, default: "default",
            help: "kubernetes backend: the namespace of the Job."),
        ConfigKey(
            "train.node_staging_path", env: ["PIPELINE_TRAIN_NODE_STAGING_PATH"], .path,
            default: "/mnt/nvme/train",
            help:
                "kubernetes backend: the node's folder (hostPath) each pod stages through at /mnt/nvme; /var/mnt/nvme/train on OpenShift."
        ),
        ConfigKey(
            "train.cpu", env: [], .text, default: "2", help: "kubernetes backend: CPU request and limit a node."),
        ConfigKey(
            "train.memory", env: [], .text, default: "4Gi", help: "kubernetes backend: memory request and limit a node."
        ),
        ConfigKey(
            "train.gpus", env: [], .integer(0...16), default: "0", help: "kubernetes backend: nvidia.com/gpu a node."),
    ]

    public init(_ values: ConfigValues) {
        backend = values.choice("train.backend")
        model = values.text("train.model")
        convolutions = values.text("train.convolutions").split(separator: ",").compactMap {
            Int($0.trimmingCharacters(in: .whitespaces))
        }
        epochs = values.integer("train.epochs")
        batchSize = values.integer("train.batch_size")
        learningRate = values.number("train.learning_rate")
        momentum = values.number("train.momentum")
        weightDecay = values.number("train.weight_decay")
        patience = values.integer("train.patience")
        validationFraction = values.number("train.validation_fraction")
        seed = UInt64(values.integer("train.seed"))
        nodes = values.integer("train.nodes")
        imagesPerNode = values.integer("train.images_per_node")
        prefix = values.prefix("train.prefix")
        registeredModel = values.text("train.registered_model")
        command = values.string("train.command")
        image = values.text("train.image")
        namespace = values.text("train.namespace")
        nodeStagingPath = values.text("train.node_staging_path")
        cpu = values.text("train.cpu")
        memory = values.text("train.memory")
        gpus = values.integer("train.gpus")
    }

    public static func problems(in values: ConfigValues) -> [ConfigProblem] {
        var problems: [ConfigProblem] = []
        if let text = values.string("train.convolutions"),
            text.split(separator: ",").contains(where: {
                Int($0.trimmingCharacters(in: .whitespaces)).map { $0 < 1 || $0 > 512 } ?? true
            })
        {
            problems.append(
                .init(
                    key: "train.convolutions", found: text, source: values.source(of: "train.convolutions"),
                    expected: "channel counts 1 to 512 separated by commas, e.g. 8,16,32"))
        }
        if values.string("train.backend") == "command", values.string("train.command") == nil {
            problems.append(
                .init(
                    key: "train.command", found: nil, source: nil,
                    expected: "the trainer to run, because train.backend is command"))
        }
        return problems
    }
}

extension PipelineConfiguration {
    public typealias Train = TrainConfiguration
    public typealias TrainBackendKind = TrainConfiguration.Backend

    /// The train stage's section.
    public var train: TrainConfiguration {
        get { section(TrainConfiguration.self) }
        set { setSection(newValue) }
    }
}
