import ArgumentParser
import Foundation
import StageCommand

/// The operator CLI: configuration, diagnosis, and (as later stages land) migrations,
/// datasets, models and the demo.
struct Pipelinectl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pipelinectl",
        abstract: "Operate the image pipeline: configuration, diagnosis, objects, migrations, datasets.",
        subcommands: [
            ConfigCommand.self, DoctorCommand.self, ObjectsCommand.self, MigrateCommand.self, DatasetsCommand.self,
            ModelCommand.self, QueuesCommand.self, SprintCommand.self, ExperimentCommand.self, DemoCommand.self,
        ])
}

@main
enum Main {
    static func main() async { await CommandRunner.main(Pipelinectl.self) }
}
