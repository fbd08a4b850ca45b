/// Opens the manifest store a configuration names.
public enum ManifestStoreFactory {
    public static func make(_ configuration: PipelineConfiguration) async throws -> any ManifestStore {
        switch configuration.manifest.location {
        case .postgres(let uri):
            return PostgresManifestStore(
                uri: uri, poolSize: configuration.manifest.poolSize, maxAttempts: configuration.manifest.maxAttempts)
        case .sqlite(let path):
            return try await SQLiteManifestStore.open(path: path, maxAttempts: configuration.manifest.maxAttempts)
        }
    }
}
