/// How a stage names what it writes: text with `{placeholders}`, checked when the
/// configuration loads so that a typo fails at start, not after an hour of work.
///
/// `{dataset}`, `{variant}`, `{sha256}` (of the source bytes), `{stem}` (the source file
/// name without extension), `{path}` (the source key without extension, folders kept),
/// `{ext}`, `{width}`, `{height}`.
public struct KeyTemplate: Sendable, Equatable, CustomStringConvertible {
    public static let placeholders = ["dataset", "variant", "sha256", "stem", "path", "ext", "width", "height"]
    public static let standard = KeyTemplate(text: "{dataset}/{variant}/{sha256}.{ext}", names: [])

    public let text: String
    let names: Set<String>

    public var description: String { text }

    public static func parse(_ text: String) -> Result<KeyTemplate, KeyTemplateError> {
        var names = Set<String>()
        var rest = Substring(text)
        while let open = rest.firstIndex(of: "{") {
            guard let close = rest[open...].firstIndex(of: "}") else {
                return .failure(.init("\"\(text)\" has a { without its }"))
            }
            let name = String(rest[rest.index(after: open)..<close])
            guard placeholders.contains(name) else {
                return .failure(
                    .init(
                        "unknown placeholder {\(name)}; use " + placeholders.map { "{\($0)}" }.joined(separator: " ")))
            }
            names.insert(name)
            rest = rest[rest.index(after: close)...]
        }
        if rest.contains("}") { return .failure(.init("\"\(text)\" has a } without its {")) }
        guard names.contains("variant") else {
            return .failure(.init("\"\(text)\" must contain {variant}, or variants would overwrite each other"))
        }
        guard !names.isDisjoint(with: ["sha256", "stem", "path"]) else {
            return .failure(
                .init("\"\(text)\" must contain {sha256}, {stem} or {path}, or images would overwrite each other"))
        }
        guard !text.hasPrefix("/"), !text.contains("//"), !text.split(separator: "/").contains("..") else {
            return .failure(.init("\"\(text)\" must be a relative key without // or .."))
        }
        return .success(KeyTemplate(text: text, names: names))
    }

    /// The text with every placeholder replaced by its value (empty when `values` has none), in
    /// one pass: a value is never read as a placeholder itself.
    public func render(_ values: [String: String]) -> String {
        var result = ""
        result.reserveCapacity(text.utf8.count + values.values.reduce(0) { $0 + $1.utf8.count })
        var rest = Substring(text)
        while let open = rest.firstIndex(of: "{"), let close = rest[open...].firstIndex(of: "}") {
            result += rest[..<open]
            let name = String(rest[rest.index(after: open)..<close])
            result += Self.placeholders.contains(name) ? values[name] ?? "" : String(rest[open...close])
            rest = rest[rest.index(after: close)...]
        }
        result += rest
        return result
    }
}

public struct KeyTemplateError: Error, Sendable, Equatable {
    public let reason: String
    init(_ reason: String) { self.reason = reason }
}
