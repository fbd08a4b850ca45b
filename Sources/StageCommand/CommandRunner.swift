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
}
