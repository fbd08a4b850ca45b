import Foundation
import TestSupport
import Testing

/// Services of one test's own, started by `scripts/services.sh` in a directory of the test's:
/// for tests that stop and start a service, which no other test may see.
struct OwnServices: Sendable {
    let directory: String
    private let shell: [String: String]

    /// Starts `parts` (postgres, s3, mlflow…) with their state in `dir`/services.
    static func start(_ parts: [String], in dir: TemporaryDirectory) async throws -> OwnServices {
        // PostgreSQL runs as its own user, which must reach the data directory.
        chmod(dir.path, 0o755)
        var shell = ProcessInfo.processInfo.environment
        shell["PIPELINE_SERVICES_DIR"] = dir.file("services")
        shell.removeValue(forKey: "PIPELINE_SERVICES_RESET")
        let services = OwnServices(directory: dir.file("services"), shell: shell)
        try await services.run(["up"] + parts)
        return services
    }

    /// `services.sh arguments…`, which must succeed.
    func run(_ arguments: [String]) async throws {
        let script = Services.packageRoot.appendingPathComponent("scripts/services.sh").path
        let result = try await Command.run(
            "/bin/bash", [script] + arguments, environment: shell, timeout: .seconds(300))
        guard result.status == 0 else {
            throw ServiceScriptError(description: "services.sh \(arguments.joined(separator: " ")): \(result.stderr)")
        }
    }

    func stop(_ part: String) async throws { try await run(["stop", part]) }
    func start(_ part: String) async throws { try await run(["up", part]) }
    /// Stops everything; for `defer`-like cleanup, errors are ignored.
    func down() async { try? await run(["down"]) }

    /// The connection settings services.sh wrote (`PIPELINE_TEST_…`).
    var settings: [String: String] {
        ((try? String(contentsOfFile: directory + "/env", encoding: .utf8)) ?? "")
            .split(separator: "\n").reduce(into: [String: String]()) { found, line in
                let parts = line.split(separator: "=", maxSplits: 1).map(String.init)
                if parts.count == 2 { found[parts[0]] = parts[1] }
            }
    }

    struct ServiceScriptError: Error, CustomStringConvertible { let description: String }
}
