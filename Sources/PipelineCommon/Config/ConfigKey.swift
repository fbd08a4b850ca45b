/// One documented configuration key: where it lives in the YAML file, which environment
/// variables override it, what it accepts and what it defaults to.
public struct ConfigKey: Sendable {
    public enum Kind: Sendable {
        case text
        case url(schemes: [String])
        case integer(ClosedRange<Int>)
        case number(ClosedRange<Double>)
        case boolean
        case choice([String])
        case path
        /// A list of ``VariantSpec``s: a YAML list of mappings, or the compact text form.
        case variants
        /// A key template with `{placeholders}` (see ``KeyTemplate``).
        case keyTemplate
        /// An AWS-style region name (`us-east-1`, `eu-central-1`; RustFS and SeaweedFS take any such name).
        case region
    }

    /// Dotted path in the YAML file, e.g. `object_store.url`.
    public let path: String
    /// Environment variables that override the file, the first one set winning.
    public let environment: [String]
    public let kind: Kind
    /// The default as text; `${DATA_DIR}` stands for the embedded default's data directory.
    public let defaultValue: String?
    public let isSecret: Bool
    public let help: String

    public init(
        _ path: String, env environment: [String] = [], _ kind: Kind, default defaultValue: String? = nil,
        secret isSecret: Bool = false, help: String
    ) {
        self.path = path
        self.environment = environment
        self.kind = kind
        self.defaultValue = defaultValue
        self.isSecret = isSecret
        self.help = help
    }

    /// What the key accepts, in words, for error messages and the example file.
    public var expectation: String {
        switch kind {
        case .text: "text"
        case .url(let schemes): "a URL with scheme " + schemes.map { "\($0)://" }.joined(separator: " or ")
        case .integer(let range): "an integer from \(range.lowerBound) to \(range.upperBound)"
        case .number(let range): "a number from \(range.lowerBound) to \(range.upperBound)"
        case .boolean: "true or false"
        case .choice(let values): "one of " + values.joined(separator: ", ")
        case .path: "an absolute path"
        case .variants:
            "a list of {name, size or width+height, fit (contain|cover|fill|pad), format (jpeg|webp|png), quality 1-100}"
        case .keyTemplate: "a key template using " + KeyTemplate.placeholders.map { "{\($0)}" }.joined(separator: " ")
        case .region: "a region name of lower-case letters, digits and dashes, e.g. us-east-1"
        }
    }
}
