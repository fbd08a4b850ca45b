import ArgumentParser
import PipelineCommon
import StageCommand

struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Apply the manifest store's schema migrations (safe to run from several replicas at once).")

    @OptionGroup var options: GlobalOptions

    func run() async throws {
        let (configuration, _) = try options.bootstrap()
        let store = try await ManifestStoreFactory.make(configuration)
        let applied = try await store.migrate()
        let version = try await store.schemaVersion()
        if applied.isEmpty {
            print("\(configuration.manifest.location): schema up to date (version \(version))")
        } else {
            print(
                "\(configuration.manifest.location): applied \(applied.map(String.init).joined(separator: ", ")); schema version \(version)"
            )
        }
    }
}
