import ArgumentParser
import Foundation

/// The operator CLI: configuration, diagnosis, and (as later stages land) migrations,
/// datasets, models and the demo.
struct Pipelinectl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pipelinectl",
        abstract: "Operate the image pipeline: configuration, diagnosis, objects, migrations, datasets.",
        subcommands: [
            ConfigCommand.self, DoctorCommand.self, ObjectsCommand.self, MigrateCommand.self, DatasetsCommand.self,
        ])
}

/// Runs the CLI with the project's exit codes: 0 ok, 1 failed, 2 bad usage or configuration.
@main
enum Main {
    static func main() async {
        do {
            var command = try Pipelinectl.parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            if Pipelinectl.exitCode(for: error) == .validationFailure {
                FileHandle.standardError.write(Data((Pipelinectl.fullMessage(for: error) + "\n").utf8))
                exit(2)
            }
            Pipelinectl.exit(withError: error)
        }
    }
}
