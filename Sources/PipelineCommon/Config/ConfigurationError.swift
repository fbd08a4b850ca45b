/// Why a configuration could not be loaded. Every problem is listed at once, so a user
/// fixes a file in one pass. Secrets never appear: found values of secret keys are redacted.
public enum ConfigurationError: Error, Sendable, CustomStringConvertible {
    case unreadableFile(path: String, reason: String)
    case malformedYAML(path: String, reason: String)
    case invalid([ConfigProblem])

    public var description: String {
        switch self {
        case .unreadableFile(let path, let reason):
            "cannot read configuration file \(path): \(reason); check the path given to --config"
        case .malformedYAML(let path, let reason):
            "configuration file \(path) is not valid YAML: \(reason)"
        case .invalid(let problems):
            "invalid configuration (\(problems.count) problem\(problems.count == 1 ? "" : "s")):\n"
                + problems.map { "  - \($0)" }.joined(separator: "\n")
        }
    }
}
