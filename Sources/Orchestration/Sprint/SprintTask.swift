import Foundation
import PipelineCommon

/// One unit of a sprint: a kind of work with one model version on one dataset version. Its id
/// is a hash of exactly those and the settings, so two plans of the same catalog give the same
/// ids and a ledger written under one plan still answers for the other.
public struct SprintTask: Sendable, Codable, Equatable {
    public let id: String
    public let sprint: String
    public let queue: String
    public let kind: TaskKind
    public let model: ModelReference
    public let dataset: DatasetReference
    public let settings: Settings
    public let timeoutSeconds: Double
    /// What a `train-evaluate` task trains (its `model` is then the name it registers under,
    /// version `new`).
    public let trainer: SprintConfiguration.TrainerSpec?

    public struct ModelReference: Sendable, Codable, Equatable {
        public let name: String
        public let version: String
        public let runId: String?
        public let parameters: Int?
        public let modelBytes: Int?
    }

    public struct DatasetReference: Sendable, Codable, Equatable {
        public let id: String
        public let name: String
        public let stage: String
    }

    public struct Settings: Sendable, Codable, Equatable {
        public let validationFraction: Double
        public let seed: UInt64
        /// At most this many images (smoke mode); nil: the whole held-out split.
        public let images: Int?
        /// Requests in flight at once (`service`).
        public let concurrency: Int
    }

    public init(
        sprint: String, queue: String, kind: TaskKind, model: ModelReference, dataset: DatasetReference,
        settings: Settings, timeoutSeconds: Double, trainer: SprintConfiguration.TrainerSpec? = nil
    ) {
        self.id = Self.id(kind: kind, model: model, dataset: dataset, settings: settings, trainer: trainer)
        self.trainer = trainer
        self.sprint = sprint
        self.queue = queue
        self.kind = kind
        self.model = model
        self.dataset = dataset
        self.settings = settings
        self.timeoutSeconds = timeoutSeconds
    }

    /// `<kind>-<16 hex>` of the model version (and its run: a reset registry reuses numbers),
    /// the dataset version, the kind and the settings.
    public static func id(
        kind: TaskKind, model: ModelReference, dataset: DatasetReference, settings: Settings,
        trainer: SprintConfiguration.TrainerSpec? = nil
    ) -> String {
        var identity = [
            "sprint-task-v1", kind.rawValue, model.name, model.version, model.runId ?? "", dataset.id,
            "fraction=\(settings.validationFraction)", "seed=\(settings.seed)",
            "images=\(settings.images.map(String.init) ?? "all")", "concurrency=\(settings.concurrency)",
        ]
        if let trainer {
            identity += [
                "trainer=\(trainer.name)", "backend=\(trainer.backend)", "model=\(trainer.model ?? "")",
                "epochs=\(trainer.epochs.map(String.init) ?? "")", "convolutions=\(trainer.convolutions ?? "")",
                "command=\(trainer.command ?? "")",
            ]
        }
        return kind.rawValue + "-" + Hex.encode(SHA256.hash(Data(identity.joined(separator: "\n").utf8))).prefix(16)
    }
}
