import ArgumentParser
import Foundation
import Orchestration
import PipelineCommon
import StageCommand

/// `pipelinectl sprint`: evaluation sprints over the model registry (plan, work, report).
struct SprintCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sprint",
        abstract: "Evaluation sprints: plan model x dataset tasks into queues, work a queue with a ledger, report.",
        subcommands: [Plan.self, Work.self, Report.self, RunTask.self])

    struct Plan: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Read the registry and the datasets live and write plan.json, plan.md and queues/<queue>.json + .md.")
        // --config is the sprint here, so the pipeline's own configuration has its own name.
        @Option(name: .customLong("config"), help: "The sprint's YAML (see examples/sprint/sprint.yaml).")
        var sprintFile: String
        @Option(help: "The pipeline's YAML configuration (MLflow, manifest store, object store).")
        var pipelineConfig: String?
        @Option(help: "Least severe log level: trace, debug, info, notice, warning, error, critical.")
        var logLevel: String?
        @Option(help: "Where the plan goes (runs/<sprint>).") var outputDir: String

        func run() async throws {
            var options = GlobalOptions()
            options.config = pipelineConfig
            options.logLevel = logLevel
            try options.validate()
            let (configuration, logger) = try options.bootstrap()
            let sprint: SprintConfiguration
            do {
                sprint = try SprintConfiguration.load(path: sprintFile)
            } catch {
                throw ValidationError("\(error)")
            }
            try await CommandRunner.failing(as: "pipelinectl") {
                let connections = try StageConnections(configuration, logger: logger)
                let manifests = try await connections.manifests()
                let planner = SprintPlanner(sprint: sprint, defaults: configuration.train)
                let datasets = try await planner.resolveDatasets(manifests)
                let models = try await ModelCatalog(mlflow: connections.mlflow, logger: logger).models(
                    selecting: sprint.versions)
                let plan = planner.plan(models: models, datasets: datasets)
                _ = try SprintPlanner.write(plan, to: outputDir)
                print("sprint \(plan.sprint): \(models.count) model versions, \(datasets.count) datasets")
                for queue in plan.queues {
                    print(
                        "  \(queue.name): \(queue.models.count) models, \(queue.tasks.count) tasks"
                            + (queue.overCap.isEmpty ? "" : " (\(queue.overCap.count) over max_tasks)"))
                }
                if !plan.unassigned.isEmpty {
                    print("  unassigned: " + plan.unassigned.map(\.model).joined(separator: ", "))
                }
                print("wrote \(outputDir)/plan.json, plan.md and queues/")
            }
        }
    }

    struct Work: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a queue's tasks in order, each in its own process, with the queue's ledger.",
            discussion: """
                Several workers may share a queue (claims in the manifest store). Finished tasks are \
                skipped; a killed worker's task runs again. Exit 1 after a task fails, unless \
                --continue-on-error.
                """)
        @OptionGroup var options: GlobalOptions
        @Option(help: "The queue file (runs/<sprint>/queues/<queue>.json).") var queue: String
        @Option(help: "Where ledgers, logs and artifacts go (runs/<sprint>/execution).") var executionRoot: String
        @Flag(help: "Record a failed task and go on with the next.") var continueOnError = false
        @Flag(help: "Run every task again, done or not; the new records are appended beside the old.")
        var forceRerun = false
        @Option(help: "Stop after running this many tasks.") var maxTasks: Int?

        func validate() throws {
            if let maxTasks, maxTasks < 1 { throw ValidationError("--max-tasks must be at least 1") }
        }

        func run() async throws {
            let (configuration, logger) = try options.bootstrap()
            let file: SprintQueueFile
            do {
                file = try SprintQueueFile.read(path: queue)
            } catch {
                throw ValidationError("\(error)")
            }
            let report = try await CommandRunner.failing(as: "pipelinectl") {
                let manifests = try await ManifestStoreFactory.openMigrated(configuration)
                var settings = SprintWorker.Options()
                settings.continueOnError = continueOnError
                settings.forceRerun = forceRerun
                settings.maxTasks = maxTasks
                let executable =
                    (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
                    ?? CommandLine.arguments[0]
                return try await SprintWorker(
                    queue: file, executionRoot: executionRoot, manifests: manifests, options: settings,
                    taskCommand: [executable, "sprint", "run-task"] + options.passThrough, logger: logger
                ).run()
            }
            print(
                "sprint \(file.sprint), queue \(file.queue): ran \(report.ran) (\(report.ok) ok, \(report.failed) failed), skipped \(report.skipped) done before"
            )
            if let stopped = report.stoppedBy {
                FileHandle.standardError.write(
                    Data("pipelinectl: stopped after a failed task (\(stopped)); --continue-on-error goes on\n".utf8))
                throw ExitCode(1)
            }
        }
    }

    struct Report: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Consolidate every ledger into leaderboards, a Pareto front, failure classes and QA flags.")
        @OptionGroup var options: GlobalOptions
        @Option(help: "The execution root the workers wrote.") var executionRoot: String
        @Option(help: "Where report.md, report.json and report.html go.") var outDir: String
        @Option(help: "The sprint's id.") var sprintId: String
        @Option(help: "The plan, to flag tasks never run (default: <execution root>/../plan.json).") var plan: String?
        @Flag(help: "Do not log the report to MLflow (experiment \"sprints\").") var noMlflow = false

        func run() async throws {
            let (configuration, logger) = try options.bootstrap()
            try await CommandRunner.failing(as: "pipelinectl") {
                let planPath = plan ?? (executionRoot as NSString).deletingLastPathComponent + "/plan.json"
                let report = try SprintReport.build(
                    sprint: sprintId, executionRoot: executionRoot,
                    plan: FileManager.default.fileExists(atPath: planPath) ? planPath : nil)
                let files = try report.write(to: outDir)
                print(
                    "sprint \(sprintId): \(report.tasks.count) tasks (\(report.ok) ok, \(report.failed) failed, \(report.neverRun.count) never run), \(report.flags.count) QA flags"
                )
                if !noMlflow {
                    let connections = try StageConnections(configuration, logger: logger)
                    let run = try await report.log(to: connections.mlflow, files: files)
                    print("logged to MLflow: experiment sprints, run \(run)")
                }
                print("wrote " + files.joined(separator: ", "))
            }
        }
    }

    /// One task in its own process, started by `sprint work`.
    struct RunTask: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "run-task", abstract: "Run one sprint task (started by sprint work).",
            shouldDisplay: false)
        @OptionGroup var options: GlobalOptions
        @Option(help: "The task file.") var task: String
        @Option(help: "The attempt's directory.") var out: String

        func run() async throws {
            let (configuration, logger) = try options.bootstrap()
            guard let data = FileManager.default.contents(atPath: task),
                let task = try? JSONDecoder().decode(SprintTask.self, from: data)
            else { throw ValidationError("\(self.task) is not a sprint task file") }
            let connections = try StageConnections(configuration, logger: logger)
            let manifests = try await ManifestStoreFactory.openMigrated(configuration)
            let status = await SprintTaskRunner(
                configuration: configuration, objects: connections.objects, manifests: manifests,
                mlflow: connections.mlflow, logger: logger
            ).run(task, directory: out)
            if status != 0 { throw ExitCode(status) }
        }
    }
}
