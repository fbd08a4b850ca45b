import Foundation
import Logging
import PipelineCommon
import StageCommand

extension Services {
    /// The configuration read from `environment` and the clients a stage is built from: an
    /// HTTP client, the object store and the migrated manifest store it names.
    static func connect(_ environment: [String: String], label: String) async throws -> (
        configuration: PipelineConfiguration, logger: Logger, http: HTTPClient, objects: any ObjectStore,
        manifests: any ManifestStore
    ) {
        let configuration = try PipelineConfiguration.load(environment: environment)
        let logger = Logger(label: label)
        let http = HTTPClient(configuration: .init(configuration.http), logger: logger)
        let objects = try ObjectStoreFactory.make(configuration, http: http, logger: logger, environment: environment)
        let manifests = try await ManifestStoreFactory.openMigrated(configuration)
        return (configuration, logger, http, objects, manifests)
    }
}
