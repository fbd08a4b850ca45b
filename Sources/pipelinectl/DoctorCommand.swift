import ArgumentParser
import Foundation
import PipelineCommon
import StageCommand

struct DoctorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check every configured part for real: object store, manifest store, MLflow, staging, libraries.",
        discussion: "Exit code 0 when every check passes, 1 when one fails, 2 for a bad configuration.")

    @OptionGroup var options: GlobalOptions

    @Flag(help: "Print the checks as JSON.")
    var json = false

    func run() async throws {
        let (configuration, logger) = try options.bootstrap()
        let checks = await Doctor(configuration: configuration, logger: logger).run()
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(checks), as: UTF8.self))
        } else {
            let width = checks.map(\.part.count).max() ?? 0
            for check in checks {
                let label = check.status.rawValue.uppercased().padding(toLength: 4, withPad: " ", startingAt: 0)
                print("\(label)  \(check.part.padding(toLength: width, withPad: " ", startingAt: 0))  \(check.summary)")
                if let fix = check.fix, check.status != .pass {
                    print("      \(String(repeating: " ", count: width))  fix: \(fix)")
                }
            }
        }
        let failed = checks.filter { $0.status == .fail }.map(\.part)
        if !failed.isEmpty {
            if !json {
                print(
                    "\n\(failed.count) check\(failed.count == 1 ? "" : "s") failed: \(failed.joined(separator: ", "))")
            }
            throw ExitCode.failure
        }
    }
}
