import Foundation
import Logging
import Yams

/// Resolves every key of a ``ConfigSchema`` from the environment, the YAML file and the
/// defaults, in that order of precedence, collecting every problem before giving up.
struct ConfigurationLoader {
    let environment: [String: String]
    let schema: ConfigSchema
    private var problems: [ConfigProblem] = []
    private var resolved: [String: (raw: String, source: ConfigSource)] = [:]

    init(environment: [String: String], schema: ConfigSchema) {
        self.environment = environment
        self.schema = schema
    }

    /// The data directory that the embedded defaults live under.
    var dataDirectory: String {
        if let dir = environment["PIPELINE_DATA_DIR"], !dir.isEmpty { return dir }
        if let xdg = environment["XDG_DATA_HOME"], !xdg.isEmpty { return xdg + "/image-pipeline" }
        return (environment["HOME"] ?? "/tmp") + "/.local/share/image-pipeline"
    }

    mutating func load(file: String?) throws(ConfigurationError) -> PipelineConfiguration {
        var fileValues: [String: (raw: String, line: Int?)] = [:]
        if let file {
            fileValues = try readFile(file)
        }
        for key in schema.keys {
            let environment = self.environment
            if let name = key.environment.first(where: { !(environment[$0] ?? "").isEmpty }),
                let value = environment[name]
            {
                resolve(key, raw: value, source: .environment(name))
            } else if let value = fileValues[key.path] {
                let raw = value.raw.replacingOccurrences(of: "${DATA_DIR}", with: dataDirectory)
                resolve(key, raw: raw, source: .file(path: file ?? "", line: value.line))
            } else if let value = key.defaultValue {
                resolve(
                    key, raw: value.replacingOccurrences(of: "${DATA_DIR}", with: dataDirectory), source: .defaultValue)
            }
        }
        let configuration = build()
        guard problems.isEmpty, let configuration else {
            // A missing value says where to put it: in a container that is usually the environment.
            throw .invalid(
                problems.map { problem in
                    var problem = problem
                    if problem.found == nil { problem.variables = schema.key(problem.key)?.environment ?? [] }
                    return problem
                })
        }
        return configuration
    }

    // MARK: - File

    private mutating func readFile(_ file: String) throws(ConfigurationError) -> [String: (raw: String, line: Int?)] {
        let text: String
        do {
            text = try String(contentsOfFile: file, encoding: .utf8)
        } catch {
            let reason = FileManager.default.fileExists(atPath: file) ? "not readable as UTF-8 text" : "no such file"
            throw .unreadableFile(path: file, reason: reason)
        }
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            throw .malformedYAML(path: file, reason: "\(error)")
        }
        guard let root else { return [:] }  // An empty file sets nothing.
        guard let mapping = root.mapping else {
            problems.append(
                .init(
                    key: "(top level)", found: "a \(root.kindName)",
                    source: .file(path: file, line: root.mark.map { $0.line }), expected: "a mapping of sections"))
            return [:]
        }
        var values: [String: (raw: String, line: Int?)] = [:]
        let sectionNames = schema.sections.map { $0.name }
        for (sectionKey, sectionNode) in mapping {
            let section = sectionKey.string ?? "\(sectionKey)"
            let line = sectionKey.mark?.line
            guard sectionNames.contains(section) else {
                problems.append(
                    .init(
                        key: section, found: "an unknown section", source: .file(path: file, line: line),
                        expected: "one of " + sectionNames.joined(separator: ", ")))
                continue
            }
            if sectionNode.null != nil { continue }
            guard let entries = sectionNode.mapping else {
                problems.append(
                    .init(
                        key: section, found: "a \(sectionNode.kindName)", source: .file(path: file, line: line),
                        expected: "a mapping of keys"))
                continue
            }
            let known = schema.keys.filter { $0.path.hasPrefix(section + ".") }
            for (entryKey, valueNode) in entries {
                let name = entryKey.string ?? "\(entryKey)"
                let keyPath = "\(section).\(name)"
                let line = valueNode.mark?.line ?? entryKey.mark?.line
                guard let key = known.first(where: { $0.path == keyPath }) else {
                    problems.append(
                        .init(
                            key: keyPath, found: "an unknown key", source: .file(path: file, line: line),
                            expected: "one of " + known.map(\.path).joined(separator: ", ")))
                    continue
                }
                if valueNode.null != nil { continue }  // `key:` or `key: ~` leaves the default.
                if case .variants = key.kind, let list = valueNode.sequence {
                    switch Self.compactVariants(list) {
                    case .success(let text): values[keyPath] = (text, line)
                    case .failure(let reason):
                        problems.append(
                            .init(
                                key: keyPath, found: "a list", source: .file(path: file, line: line),
                                expected: reason.reason))
                    }
                    continue
                }
                guard let scalar = valueNode.scalar else {
                    problems.append(
                        .init(
                            key: keyPath, found: "a \(valueNode.kindName)", source: .file(path: file, line: line),
                            expected: key.expectation))
                    continue
                }
                values[keyPath] = (scalar.string, line)
            }
        }
        return values
    }

    /// A YAML list of variant mappings in the compact form, or what is wrong with it.
    static func compactVariants(_ list: Node.Sequence) -> Result<String, VariantSpecError> {
        func fail(_ reason: String) -> Result<String, VariantSpecError> { .failure(VariantSpecError(reason)) }
        var entries: [String] = []
        for (index, node) in list.enumerated() {
            let label = "normalize.variants[\(index)]"
            guard let mapping = node.mapping else { return fail("\(label) to be a mapping") }
            var fields: [String: String] = [:]
            for (key, value) in mapping {
                guard let name = key.string, let text = value.scalar?.string else {
                    return fail("\(label): scalar values only")
                }
                guard ["name", "size", "width", "height", "fit", "format", "quality", "background"].contains(name)
                else {
                    return fail(
                        "\(label): unknown field \(name); use name, size or width+height, fit, format, quality, background"
                    )
                }
                guard !text.contains(":"), !text.contains(";") else {
                    return fail("\(label).\(name): \"\(text)\" may not contain : or ;")
                }
                fields[name] = text
            }
            guard let name = fields["name"] else { return fail("\(label) to have a name") }
            let size: String
            if let edge = fields["size"] {
                size = edge
            } else if let width = fields["width"], let height = fields["height"] {
                size = "\(width)x\(height)"
            } else {
                return fail("\(label) (\(name)) to have size, or width and height")
            }
            var fit = fields["fit"] ?? "contain"
            if let background = fields["background"] {
                fit += "#" + background.trimmingCharacters(in: CharacterSet(charactersIn: "#"))
            }
            entries.append(
                [name, size, fit, fields["format"] ?? "jpeg", fields["quality"] ?? "85"].joined(separator: ":"))
        }
        return .success(entries.joined(separator: ";"))
    }

    // MARK: - Values

    private mutating func resolve(_ key: ConfigKey, raw: String, source: ConfigSource) {
        let value = raw.trimmingCharacters(in: .whitespaces)
        if let reason = Self.check(value, against: key) {
            let shown = key.isSecret ? Secret.redacted : Redaction.url(value)
            problems.append(.init(key: key.path, found: shown, source: source, expected: reason))
            return
        }
        resolved[key.path] = (key.kind.isPath ? Self.expandTilde(value, home: environment["HOME"]) : value, source)
    }

    /// Why `value` does not fit `key`, or nil when it does.
    static func check(_ value: String, against key: ConfigKey) -> String? {
        switch key.kind {
        case .text:
            return value.isEmpty ? "non-empty text" : nil
        case .url(let schemes):
            guard let components = URLComponents(string: value), let scheme = components.scheme?.lowercased(),
                schemes.contains(scheme)
            else { return key.expectation }
            if scheme == "s3" || scheme == "file" {
                if case .failure(let error) = ObjectStoreLocation.parse(value) { return error.reason }
            } else if ["postgres", "postgresql", "sqlite"].contains(scheme) {
                if case .failure(let error) = ManifestLocation.parse(value) { return error.reason }
            } else if components.host?.isEmpty ?? true {
                return "\(key.expectation) with a host, e.g. \(scheme)://127.0.0.1:8080"
            }
            return nil
        case .integer(let range):
            guard let number = Int(value), range.contains(number) else { return key.expectation }
            return nil
        case .number(let range):
            guard let number = Double(value), range.contains(number) else { return key.expectation }
            return nil
        case .boolean:
            return parseBool(value) == nil ? key.expectation : nil
        case .choice(let values):
            return values.contains(value.lowercased()) ? nil : key.expectation
        case .path:
            return value.hasPrefix("/") || value.hasPrefix("~/") ? nil : key.expectation
        case .variants:
            if case .failure(let error) = VariantSpec.parseList(value) { return error.reason }
            return nil
        case .keyTemplate:
            if case .failure(let error) = KeyTemplate.parse(value) { return error.reason }
            return nil
        case .region:
            // It becomes part of the S3 host name and of every signature's scope.
            let allowed = value.utf8.allSatisfy { (97...122).contains($0) || (48...57).contains($0) || $0 == 45 }
            return !value.isEmpty && allowed && value.utf8.first != 45 && value.utf8.last != 45
                ? nil : key.expectation
        }
    }

    static func parseBool(_ value: String) -> Bool? { ConfigValues.parseBool(value) }

    static func expandTilde(_ path: String, home: String?) -> String {
        guard path.hasPrefix("~/"), let home else { return path }
        return home + path.dropFirst()
    }

    // MARK: - Typed configuration

    /// Every section built from the checked values, once no key and no section has a problem.
    private mutating func build() -> PipelineConfiguration? {
        let values = ConfigValues(resolved)
        for section in schema.sections { problems += section.problems(in: values) }
        guard problems.isEmpty else { return nil }
        let effective = schema.keys.map { key in
            let value = resolved[key.path]
            let display: String? = value.map { key.isSecret ? Secret.redacted : Redaction.url($0.raw) }
            return PipelineConfiguration.EffectiveValue(
                key: key.path, display: display, source: value?.source ?? .defaultValue)
        }
        return PipelineConfiguration(
            schema: schema, sections: schema.sections.map { $0.init(values) }, effectiveValues: effective)
    }
}

extension ConfigKey.Kind {
    var isPath: Bool {
        if case .path = self { return true }
        return false
    }
}

extension Node {
    var kindName: String {
        switch self {
        case .scalar: "scalar"
        case .mapping: "mapping"
        case .sequence: "list"
        case .alias: "alias"
        }
    }
}
