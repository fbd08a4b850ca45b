import Foundation
import Logging

/// The one typed configuration shared by every stage and by `pipelinectl`.
///
/// Load it with ``load(file:environment:)``: a YAML file, then environment overrides, then
/// defaults, validated all at once. ``ConfigSchema`` documents every key.
public struct PipelineConfiguration: Sendable {
    public struct ObjectStore: Sendable {
        public enum Addressing: String, Sendable { case auto, path, virtual }
        public var location: ObjectStoreLocation
        /// A custom S3 endpoint (RustFS, MinIO, moto); nil for AWS itself.
        public var endpoint: URL?
        public var region: String
        public var addressing: Addressing
        /// Explicit credentials; nil to look them up from `profile` or the shared files.
        public var credentials: AWSCredentials?
        public var profile: String?
    }

    public struct Manifest: Sendable {
        public var location: ManifestLocation
        public var poolSize: Int
        /// Failed attempts after which a work item is dead.
        public var maxAttempts: Int
        /// SQLite: how long a statement waits while another process holds the lock.
        public var lockTimeout: Duration
        /// Object-store prefix of published manifest files, ending in `/` (or empty).
        public var filesPrefix: String
        /// How long finished work items are kept (nil: forever); see `WorkPrunePolicy`.
        public var workRetention: Duration?
    }

    public struct Staging: Sendable {
        public var root: String
        public var reserveBytes: UInt64
        public var keepOnFailure: Bool
    }

    public struct Ingest: Sendable {
        public var dataset: String
        public var rawPrefix: String
        public var curatedPrefix: String
        public var annotationsPrefix: String
        public var pollInterval: Duration
        public var maxPixels: Int
        public var batchSize: Int
        public var concurrency: Int
        public var lease: Duration
        public var webhookToken: Secret?
        /// Whether SNS messages must carry a valid signature.
        public var snsVerifySignatures: Bool
        /// Hosts (`host` or `host:port`) trusted besides `sns.<region>.amazonaws.com` to serve
        /// SNS signing certificates (over HTTPS only).
        public var snsCertificateHosts: [String]
        /// The augmented copies to make; nil when `augment.copies` is 0.
        public var augmentation: AugmentationPlan?
    }

    public struct Normalize: Sendable {
        public var variants: [VariantSpec]
        public var keyTemplate: KeyTemplate
        public var prefix: String
        public var trainVariant: String
        /// `cpu` or `gpu`.
        public var resizer: String
        /// Images in flight at once.
        public var concurrency: Int
        public var vipsThreads: Int
        public var batchSize: Int
        public var lease: Duration
    }

    /// Where training runs (`train.backend`).
    public enum TrainBackendKind: String, Sendable, CaseIterable {
        /// The builtin model in this process, or on `train.nodes` local processes.
        case builtin
        /// Any trainer process (`train.command`).
        case command
        /// The builtin model on the pods of a Kubernetes Indexed Job.
        case kubernetes
    }

    public struct Train: Sendable {
        public var backend: TrainBackendKind
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
    }

    public struct Infer: Sendable {
        public var pollInterval: Duration
        public var maxBodyBytes: Int
        public var prefix: String
        public var topK: Int
        public var batchSize: Int
        public var maxPixels: Int
    }

    public struct MLflow: Sendable {
        public var trackingURI: URL
        public var token: Secret?
        public var username: String?
        public var password: Secret?
        public var experiment: String
    }

    public struct LabelStudio: Sendable {
        public var url: URL?
        public var apiKey: Secret?
    }

    public struct HTTP: Sendable {
        public var connectTimeout: Duration
        public var timeout: Duration
        public var maxAttempts: Int
        public var caBundle: String?
    }

    public struct Observability: Sendable {
        public enum LogFormat: String, Sendable { case auto, text, json }
        public var logLevel: Logger.Level
        public var logFormat: LogFormat
        public var metricsHost: String
        public var metricsPort: Int
        /// How long a service's graceful shutdown may take before its work is cancelled.
        public var shutdownGrace: Duration
    }

    /// One effective value with where it came from; secrets are already redacted.
    public struct EffectiveValue: Sendable {
        public let key: String
        public let display: String?
        public let source: ConfigSource
    }

    public var objectStore: ObjectStore
    public var manifest: Manifest
    public var staging: Staging
    public var ingest: Ingest
    public var normalize: Normalize
    public var train: Train
    public var infer: Infer
    public var mlflow: MLflow
    public var labelStudio: LabelStudio
    public var http: HTTP
    public var observability: Observability

    /// Every key's effective value, in schema order, for `pipelinectl config check`.
    public let effectiveValues: [EffectiveValue]

    /// Loads the configuration from `file` (if any) with `environment` overriding it.
    ///
    /// - Throws: ``ConfigurationError`` listing every wrong or missing value at once.
    public static func load(
        file: String? = nil, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(ConfigurationError) -> PipelineConfiguration {
        var loader = ConfigurationLoader(environment: environment)
        return try loader.load(file: file)
    }

    init(
        objectStore: ObjectStore, manifest: Manifest, staging: Staging, ingest: Ingest, normalize: Normalize,
        train: Train, infer: Infer, mlflow: MLflow,
        labelStudio: LabelStudio,
        http: HTTP, observability: Observability, effectiveValues: [EffectiveValue]
    ) {
        self.objectStore = objectStore
        self.manifest = manifest
        self.staging = staging
        self.ingest = ingest
        self.normalize = normalize
        self.train = train
        self.infer = infer
        self.mlflow = mlflow
        self.labelStudio = labelStudio
        self.http = http
        self.observability = observability
        self.effectiveValues = effectiveValues
    }

    /// Where the effective value of `key` came from (`.defaultValue` when it was not set).
    public func source(of key: String) -> ConfigSource {
        effectiveValues.first { $0.key == key }?.source ?? .defaultValue
    }

    /// The effective configuration as YAML, secrets redacted, each value's source as a comment.
    public func renderEffectiveYAML() -> String {
        var lines: [String] = []
        var section = ""
        for value in effectiveValues {
            let parts = value.key.split(separator: ".", maxSplits: 1).map(String.init)
            if parts[0] != section {
                section = parts[0]
                lines.append("\(section):")
            }
            if let display = value.display {
                lines.append("  \(parts[1]): \(YAMLText.quoteIfNeeded(display))  # \(value.source)")
            } else {
                lines.append("  \(parts[1]): ~  # unset")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
