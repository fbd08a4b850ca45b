import ArgumentParser
import Foundation
import Orchestration
import PipelineCommon
import StageCommand

/// `pipelinectl experiment`: dataset experiments fused with Combinatorial Fusion Analysis.
struct ExperimentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "experiment",
        abstract: "Dataset experiments: fuse models' scores with Combinatorial Fusion Analysis.",
        subcommands: [Run.self, Fuse.self, Report.self])

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Every dataset x model: inspect, split when needed, train, score, fuse; MLflow runs as it goes.",
            discussion: """
                A dataset with a result under --out is finished and not run again. A model that fails \
                is recorded with its reason and the others go on; a dataset with a schema gap is skipped \
                with that reason. Training of builtin models is not interrupted by --timeout; command \
                trainers are stopped at it.
                """)
        @OptionGroup var options: GlobalOptions
        @Option(help: "The datasets list (YAML datasets: [{name, path, label}], or CSV name,path,label).")
        var datasets: String
        @Option(help: "The models list (YAML models: [{name, kind: softmax|knn|mlp, ...} or {name, command}]).")
        var models: String
        @Option(help: "Where each dataset's inspection, scores, fusion and result go.") var out: String
        @Option(help: "The experiment's name (the MLflow parent run).") var name: String = "experiment"
        @Option(help: "Datasets run at once.") var parallel: Int = 1
        @Option(help: "Seconds a dataset may take.") var timeout: Int = 3600
        @Option(help: "The seed of the splits made here.") var seed: UInt64 = 42
        @Flag(help: "Do not log to MLflow.") var noMlflow = false

        func validate() throws {
            if parallel < 1 { throw ValidationError("--parallel must be at least 1") }
            if timeout < 1 { throw ValidationError("--timeout must be at least 1 second") }
        }

        func run() async throws {
            let (configuration, logger) = try options.bootstrap()
            let sources: [TabularSource]
            let list: [ExperimentModel]
            do {
                sources = try ExperimentPlan.datasets(path: datasets)
                list = try ExperimentPlan.models(path: models)
            } catch {
                throw ValidationError("\(error)")
            }
            let summary = try await CommandRunner.failing(as: "pipelinectl") {
                let connections = try StageConnections(configuration, logger: logger)
                let mlflow = noMlflow ? nil : connections.mlflow
                // The pipeline's stores only when a dataset is one of its versions.
                let pipeline =
                    sources.contains(where: { $0.isPipelineDataset || $0.path.hasPrefix("store:") })
                    ? PipelineContext(
                        configuration: configuration, objects: connections.objects,
                        manifests: try await connections.manifests())
                    : nil
                return try await ExperimentRunner(
                    name: name, datasets: sources, models: list, outDirectory: out, parallel: parallel,
                    timeout: .seconds(timeout), seed: seed, mlflow: mlflow, pipeline: pipeline, logger: logger
                ).run()
            }
            for result in summary.results {
                let reused = summary.reused.contains(result.dataset) ? " (finished before)" : ""
                let fusion =
                    result.fusion.map {
                        "best single \($0.bestSingle.model), best fusion \($0.bestFusion.models.joined(separator: "+")) \($0.bestFusion.method.rawValue)"
                            + ($0.fusionBeatsBestSingle ? " beats it" : " does not beat it")
                    } ?? (result.reason ?? "")
                let failed = result.models.filter { !$0.ok && $0.reason?.hasPrefix("not applicable") != true }.map(
                    \.model)
                print(
                    "\(result.dataset): \(result.status.rawValue)\(reused); \(fusion)"
                        + (failed.isEmpty ? "" : "; failed: \(failed.joined(separator: ", "))"))
            }
            if let run = summary.parentRun { print("logged to MLflow: experiment experiments, run \(run)") }
        }
    }

    struct Report: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Summarise an experiment's results: per dataset and across datasets (Markdown, JSON, HTML).")
        @Option(help: "The folder experiment run wrote (--out).") var out: String
        @Option(help: "Where experiment.md, .json and .html go (default: the same folder).") var reportDir: String?
        @Option(help: "The experiment's name.") var name: String = "experiment"

        func run() async throws {
            let files = try await CommandRunner.failing(as: "pipelinectl") {
                try ExperimentReport.build(experiment: name, directory: out).write(to: reportDir ?? out)
            }
            print("wrote " + files.joined(separator: ", "))
        }
    }

    struct Fuse: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Fuse the models of a folder of scores files (one <model>.csv each) with CFA.",
            discussion: """
                Each file: split,id,label, then one score column per class (two classes: the second \
                is the positive one). DS, PS and the best fusion are chosen on the validation split; \
                test figures are those of that choice. See README, Combinatorial fusion.
                """)
        @Option(help: "The folder of scores files.") var scores: String
        @Flag(help: "Print the analysis as JSON.") var json = false

        func run() async throws {
            let tables: [ScoreTable]
            do {
                tables = try ScoreTable.load(directory: scores)
            } catch {
                throw ValidationError("\(error)")
            }
            let result = try await CommandRunner.failing(as: "pipelinectl") { try CombinatorialFusion.analyse(tables) }
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                print(String(decoding: try encoder.encode(result), as: UTF8.self))
            } else {
                print(result.text(), terminator: "")
            }
        }
    }
}
