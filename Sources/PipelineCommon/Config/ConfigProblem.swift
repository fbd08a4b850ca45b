/// One wrong or missing configuration value: which key, what was found where, what is expected.
public struct ConfigProblem: Sendable, Equatable, CustomStringConvertible {
    public let key: String
    /// What was found, already redacted for secret keys; nil when the value is missing.
    public let found: String?
    public let source: ConfigSource?
    public let expected: String
    /// The environment variables that set the key, named when its value is missing.
    public var variables: [String] = []

    public init(key: String, found: String?, source: ConfigSource?, expected: String) {
        self.key = key
        self.found = found
        self.source = source
        self.expected = expected
    }

    public var description: String {
        let what = found.map { "found \"\($0)\"" } ?? "missing"
        let from = source.map { " (\($0))" } ?? ""
        let remedy = variables.isEmpty ? "" : "; set \(variables.joined(separator: " or ")) or \(key) in the file"
        return "\(key): \(what)\(from); expected \(expected)\(remedy)"
    }
}
