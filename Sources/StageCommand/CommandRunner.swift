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
            if Root.exitCode(for: error) == .validationFailure {
                FileHandle.standardError.write(Data((Root.fullMessage(for: error) + "\n").utf8))
                exit(2)
            }
            Root.exit(withError: error)
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
