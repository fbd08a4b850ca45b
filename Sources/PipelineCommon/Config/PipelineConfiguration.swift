import Foundation
import Logging

/// The one typed configuration shared by every stage and by `pipelinectl`: the common
/// sections as properties, each stage's own section through ``section(_:)`` (the stage
/// libraries add a property for theirs).
///
/// Load it with ``load(file:environment:schema:)``: a YAML file, then environment overrides,
/// then defaults, validated all at once. The ``ConfigSchema`` documents every key.
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
    public var mlflow: MLflow
    public var labelStudio: LabelStudio
    public var http: HTTP
    public var observability: Observability

    /// The sections this configuration was loaded with.
    public let schema: ConfigSchema
    /// Every section of the schema (the common ones above included), by type: the stages read
    /// their own through ``section(_:)``.
    private var sections: [ObjectIdentifier: any ConfigSection]

    /// Every key's effective value, in schema order, for `pipelinectl config check`.
    public let effectiveValues: [EffectiveValue]

    /// Loads the configuration of `schema`'s sections from `file` (if any) with `environment`
    /// overriding it.
    ///
    /// - Throws: ``ConfigurationError`` listing every wrong or missing value at once.
    public static func load(
        file: String? = nil, environment: [String: String] = ProcessInfo.processInfo.environment,
        schema: ConfigSchema
    ) throws(ConfigurationError) -> PipelineConfiguration {
        var loader = ConfigurationLoader(environment: environment, schema: schema)
        return try loader.load(file: file)
    }

    init(schema: ConfigSchema, sections: [any ConfigSection], effectiveValues: [EffectiveValue]) {
        var byType: [ObjectIdentifier: any ConfigSection] = [:]
        for section in sections { byType[ObjectIdentifier(type(of: section))] = section }
        func common<S: ConfigSection>(_ type: S.Type) -> S {
            guard let section = byType[ObjectIdentifier(type)] as? S else {
                preconditionFailure("every schema has the common section \(S.name)")
            }
            return section
        }
        self.objectStore = common(ObjectStore.self)
        self.manifest = common(Manifest.self)
        self.staging = common(Staging.self)
        self.mlflow = common(MLflow.self)
        self.labelStudio = common(LabelStudio.self)
        self.http = common(HTTP.self)
        self.observability = common(Observability.self)
        self.schema = schema
        self.sections = byType
        self.effectiveValues = effectiveValues
    }

    /// A stage's own section, as loaded.
    public func section<S: ConfigSection>(_ type: S.Type) -> S {
        guard let section = sections[ObjectIdentifier(type)] as? S else {
            preconditionFailure("the configuration was loaded without the \(S.name) section; load it with a schema that has it")
        }
        return section
    }

    /// Replaces a stage's own section (a command-line option that overrides a key).
    public mutating func setSection<S: ConfigSection>(_ section: S) {
        sections[ObjectIdentifier(S.self)] = section
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
