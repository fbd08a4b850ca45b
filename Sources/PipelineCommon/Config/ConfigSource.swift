/// Where an effective configuration value came from.
public enum ConfigSource: Sendable, Equatable, CustomStringConvertible {
    case defaultValue
    case file(path: String, line: Int?)
    case environment(String)

    public var description: String {
        switch self {
        case .defaultValue: "default"
        case .file(let path, let line): line.map { "\(path) line \($0)" } ?? path
        case .environment(let name): "environment \(name)"
        }
    }
}
