import ArgumentParser
import Foundation
import InferStage
import Learning
import Logging
import PipelineCommon
import StageCommand

/// `pipelinectl model`: the registered models in MLflow and the alias stage 4 serves.
struct ModelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model",
        abstract: "Registered models: list, show, approve (move the \"approved\" alias), export (ONNX).",
        subcommands: [List.self, Show.self, Approve.self, Export.self])

    static func client(_ options: GlobalOptions) throws -> (MLflowClient, PipelineConfiguration, Logger) {
        let (configuration, logger) = try options.bootstrap()
        let http = HTTPClient(configuration: .init(configuration.http), logger: logger)
        return (MLflowClient(settings: configuration.mlflow, http: http), configuration, logger)
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Registered models with their latest version and aliases.")
        @OptionGroup var options: GlobalOptions

        func run() async throws {
            let (mlflow, _, _) = try ModelCommand.client(options)
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
            let (mlflow, _, _) = try ModelCommand.client(options)
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
            let (mlflow, _, _) = try ModelCommand.client(options)
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

    struct Export: AsyncParsableCommand {
        enum Format: String, ExpressibleByArgument, CaseIterable { case onnx }

        static let configuration = CommandConfiguration(
            abstract: "Write a model as ONNX (opset 13), its preprocessing inside the graph.",
            discussion: """
                The model is VERSION of the registered model NAME (downloaded from MLflow and checked), or \
                a model file given with --file. The ONNX graph takes `pixels`, float32 [N, C, H, W]: the \
                image rendered as the model's training variant, values 0-255, channels first; it \
                normalises them as training did and gives `probabilities`, float32 [N, classes], in the \
                order of the `classes` metadata.
                """)
        @OptionGroup var options: GlobalOptions
        @Argument(help: "Registered model name (not with --file).") var name: String?
        @Argument(help: "Version number (not with --file).") var version: String?
        @Option(help: "A model file (model.ipm) instead of a registered version.") var file: String?
        @Option(help: "The format to write.") var format: Format = .onnx
        @Option(help: "Where to write the model.") var output: String

        func validate() throws {
            switch (file, name, version) {
            case (.some, nil, nil), (nil, .some, .some): break
            default: throw ValidationError("give NAME and VERSION of a registered model, or --file MODEL.ipm")
            }
        }

        func run() async throws {
            try await CommandRunner.failing(as: "pipelinectl") {
                let model: ModelFile
                if let file {
                    model = try ModelFile.read(from: file)
                } else if let name, let version {
                    let (mlflow, configuration, logger) = try ModelCommand.client(options)
                    let source = ModelSource(
                        mlflow: mlflow, staging: StagingArea(configuration.staging, logger: logger), name: name)
                    model = try await source.load(try await mlflow.modelVersion(name: name, version: version))
                        .predictor.model
                } else {
                    throw ValidationError("give NAME and VERSION, or --file")
                }
                let data = ONNXExport.model(model)
                try data.write(to: URL(fileURLWithPath: output), options: .atomic)
                let architecture = model.header.architecture
                print(
                    """
                    wrote \(output) (\(format.rawValue), \(data.count) bytes, \(model.header.parameterCount) parameters)
                    input  pixels: float32 [N, \(architecture.input.map(String.init).joined(separator: ", "))], \
                    the image as the variant \(VariantSpec.compact([model.header.variant])), values 0-255, channels first
                    output probabilities: float32 [N, \(architecture.classes)]: \(model.header.classes.joined(separator: ", "))
                    """)
            }
        }
    }
}
