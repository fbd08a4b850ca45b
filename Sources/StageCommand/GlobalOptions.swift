import ArgumentParser
import Foundation
import Logging
import PipelineCommon

/// Options every command of every executable takes (`pipelinectl`, `pipeline-ingest`, …).
public struct GlobalOptions: ParsableArguments {
    public init() {}

    /// The executable's name, for messages and the logger label.
    public static var programName: String {
        (CommandLine.arguments.first.map { ($0 as NSString).lastPathComponent }) ?? "pipeline"
    }

    @Option(name: .long, help: "YAML configuration file (see config/pipeline.example.yaml).")
    public var config: String?

    @Option(name: .long, help: "Least severe log level: trace, debug, info, notice, warning, error, critical.")
    public var logLevel: String?

    public func validate() throws {
        if let logLevel, Logger.Level(rawValue: logLevel.lowercased()) == nil {
            throw ValidationError(
                "--log-level \(logLevel) is not a level; use trace, debug, info, notice, warning, error or critical")
        }
    }

    /// These options again, for a child process of the same program.
    public var passThrough: [String] {
        (config.map { ["--config", $0] } ?? []) + (logLevel.map { ["--log-level", $0] } ?? [])
    }

    /// Loads and validates the configuration, or prints every problem and exits with code 2.
    public func loadConfiguration() throws -> PipelineConfiguration {
        do {
            var configuration = try PipelineConfiguration.load(file: config)
            if let logLevel, let level = Logger.Level(rawValue: logLevel.lowercased()) {
                configuration.observability.logLevel = level
            }
            return configuration
        } catch {
            FileHandle.standardError.write(Data("\(Self.programName): \(error)\n".utf8))
            throw ExitCode(2)
        }
    }

    /// ``bootstrap()`` for a stage: also checks that the staging area takes writes, or prints
    /// why not and exits with code 2 before any work starts.
    public func bootstrapStage() throws -> (PipelineConfiguration, Logger) {
        let (configuration, logger) = try bootstrap()
        do {
            try StagingArea(configuration.staging, logger: logger).checkWritable()
        } catch {
            FileHandle.standardError.write(Data("\(Self.programName): \(error)\n".utf8))
            throw ExitCode(2)
        }
        return (configuration, logger)
    }

    /// Loads the configuration and installs logging as it says.
    public func bootstrap() throws -> (PipelineConfiguration, Logger) {
        let configuration = try loadConfiguration()
        LoggingSetup.bootstrap(
            level: configuration.observability.logLevel, format: configuration.observability.logFormat)
        return (configuration, Logger(label: Self.programName))
    }
}
