/// Opens the manifest store a configuration names.
public enum ManifestStoreFactory {
    public static func make(_ configuration: PipelineConfiguration) async throws -> any ManifestStore {
        switch configuration.manifest.location {
        case .postgres(let uri):
            return PostgresManifestStore(
                uri: uri, poolSize: configuration.manifest.poolSize, maxAttempts: configuration.manifest.maxAttempts)
        case .sqlite(let path):
            return try await SQLiteManifestStore.open(
                path: path, maxAttempts: configuration.manifest.maxAttempts,
                lockTimeout: configuration.manifest.lockTimeout)
        }
    }

    /// Opens the store and applies pending migrations, as every stage does at start; the
    /// migration lock makes replicas starting together apply each migration once.
    public static func openMigrated(_ configuration: PipelineConfiguration) async throws -> any ManifestStore {
        let store = try await make(configuration)
        try await store.migrate()
        return store
    }

    /// The newest schema version this build knows for the configured store.
    public static func latestSchemaVersion(_ configuration: PipelineConfiguration) -> Int {
        switch configuration.manifest.location {
        case .postgres: PostgresMigrations.all.map(\.version).max() ?? 0
        case .sqlite: SQLiteMigrations.all.map(\.version).max() ?? 0
        }
    }
}
