import ArgumentParser
import PipelineCommon
import StageCommand

struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config", abstract: "Validate and show configuration.",
        subcommands: [Check.self, Example.self])

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate a configuration and print the effective values, secrets redacted.",
            discussion: "Exit code 0 when valid, 2 with every problem listed when not.")

        @OptionGroup var options: GlobalOptions

        func run() async throws {
            let configuration = try options.loadConfiguration()
            print(
                "# configuration is valid"
                    + (options.config.map { " (\($0) with environment overrides)" }
                        ?? " (defaults with environment overrides)"))
            print(configuration.renderEffectiveYAML(), terminator: "")
        }
    }

    struct Example: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the documented example configuration (every key, its environment override and default).")

        func run() async throws {
            print(PipelineSchema.full.exampleYAML(), terminator: "")
        }
    }
}
