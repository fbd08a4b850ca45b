import ArgumentParser
import Foundation

/// Runs a command tree with the project's exit codes: 0 ok, 1 failed, 2 bad usage or
/// configuration (argument-parser's own validation failures included).
public enum CommandRunner {
    public static func main<Root: ParsableCommand>(_ root: Root.Type) async {
        do {
            var command = try Root.parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            let code = Root.exitCode(for: error)
            if code == .validationFailure {
                FileHandle.standardError.write(Data((Root.fullMessage(for: error) + "\n").utf8))
                exit(2)
            }
            // Help, version and explicit exit codes are argument-parser's to print; every other
            // error is the project's own, printed one way: `<tool>: <what failed and what to do>`.
            if error is ExitCode || code == .success { Root.exit(withError: error) }
            FileHandle.standardError.write(Data("\(GlobalOptions.programName): \(error)\n".utf8))
            exit(1)
        }
    }

    /// Runs `body`; an error other than an exit code is printed as `<tool>: <error>` and the
    /// command exits 1.
    public static func failing<T>(as tool: String, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let exit as ExitCode {
            throw exit
        } catch {
            FileHandle.standardError.write(Data("\(tool): \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}
