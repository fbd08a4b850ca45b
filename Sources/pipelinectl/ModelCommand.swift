import ArgumentParser
import Foundation
import PipelineCommon
import StageCommand

/// `pipelinectl model`: the registered models in MLflow and the alias stage 4 serves.
struct ModelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model", abstract: "Registered models: list, show, approve (move the \"approved\" alias).",
        subcommands: [List.self, Show.self, Approve.self])

    static func client(_ options: GlobalOptions) throws -> (MLflowClient, PipelineConfiguration) {
        let (configuration, logger) = try options.bootstrap()
        let http = HTTPClient(configuration: .init(configuration.http), logger: logger)
        return (MLflowClient(settings: configuration.mlflow, http: http), configuration)
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Registered models with their latest version and aliases.")
        @OptionGroup var options: GlobalOptions

        func run() async throws {
            let (mlflow, _) = try ModelCommand.client(options)
            try await CommandRunner.failing(as: "pipelinectl") {
                let models = try await mlflow.searchRegisteredModels()
                print("NAME".padding(toLength: 28, withPad: " ", startingAt: 0) + "LATEST  ALIASES")
                for model in models.sorted(by: { $0.name < $1.name }) {
                    let latest = model.latestVersions?.map(\.version).compactMap(Int.init).max().map(String.init) ?? "-"
                    let aliases = (model.aliases ?? []).map { "\($0.alias)=\($0.version)" }.joined(separator: ",")
                    print(
                        model.name.padding(toLength: 28, withPad: " ", startingAt: 0)
                            + latest.padding(toLength: 8, withPad: " ", startingAt: 0) + aliases)
                }
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The versions of a registered model, newest first.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "Registered model name.") var name: String

        func run() async throws {
            let (mlflow, _) = try ModelCommand.client(options)
            try await CommandRunner.failing(as: "pipelinectl") {
                let model = try await mlflow.getRegisteredModel(name)
                let aliases = Dictionary(grouping: model.aliases ?? [], by: \.version).mapValues { $0.map(\.alias) }
                for version in try await mlflow.searchModelVersions(name: name) {
                    let tags = (version.tags ?? []).map { "\($0.key)=\($0.value)" }.sorted().joined(separator: " ")
                    let marks = aliases[version.version].map { " [" + $0.joined(separator: ",") + "]" } ?? ""
                    print(
                        "version \(version.version)\(marks): run \(version.runId ?? "-") \(version.status ?? "") \(tags)"
                    )
                }
            }
        }
    }

    struct Approve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Point the alias \"approved\" (what stage 4 serves) at VERSION of NAME.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "Registered model name.") var name: String
        @Argument(help: "Version number.") var version: String

        func run() async throws {
            let (mlflow, _) = try ModelCommand.client(options)
            try await CommandRunner.failing(as: "pipelinectl") {
                let previous = try await mlflow.version(name: name, alias: "approved")?.version
                _ = try await mlflow.modelVersion(name: name, version: version)
                try await mlflow.setAlias(name: name, alias: "approved", version: version)
                print(
                    "\(name): approved \(previous.map { "moved from version \($0) to" } ?? "set to") version \(version)"
                )
            }
        }
    }
}
