import Logging
import PipelineCommon

/// What an executable talks to, made one way for all of them: the HTTP client every remote
/// call goes through (the configured retries and CA bundle), the object store over it, the
/// manifest store migrated to the current schema, and the MLflow client (whose `s3://`
/// artifacts go through the same object store).
public struct StageConnections: Sendable {
    public let configuration: PipelineConfiguration
    public let logger: Logger
    public let http: HTTPClient
    public let objects: any ObjectStore

    /// The HTTP client and the object store (nothing is contacted yet).
    public init(_ configuration: PipelineConfiguration, logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        http = HTTPClient(configuration: .init(configuration.http), logger: logger)
        objects = try ObjectStoreFactory.make(configuration, http: http, logger: logger)
    }

    /// The manifest store, opened and migrated.
    public func manifests() async throws -> any ManifestStore {
        try await ManifestStoreFactory.openMigrated(configuration)
    }

    /// The MLflow tracking and registry client.
    public var mlflow: MLflowClient {
        MLflowClient(settings: configuration.mlflow, http: http, artifactStore: objects)
    }
}
