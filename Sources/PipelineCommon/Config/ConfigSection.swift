import Foundation

/// One section of the configuration file, defined by the code that uses it: the common
/// sections (object store, manifest, staging, MLflow, Label Studio, HTTP, observability) here,
/// each stage's own in its stage library. A ``ConfigSchema`` composes them into the one
/// documented file.
public protocol ConfigSection: Sendable {
    /// The YAML section, e.g. `ingest`.
    static var name: String { get }
    /// One line on what the section is for, for the example file.
    static var help: String { get }
    /// Its keys, in the order the example file documents them.
    static var keys: [ConfigKey] { get }
    /// What is wrong between the section's keys, beyond each key's own check (a key that
    /// needs another, a name that must be among a list).
    static func problems(in values: ConfigValues) -> [ConfigProblem]
    /// The section from checked values (see ``ConfigValues``).
    init(_ values: ConfigValues)
}

extension ConfigSection {
    public static func problems(in values: ConfigValues) -> [ConfigProblem] { [] }
}

/// The resolved value of every key of a schema (from the environment, the file or the
/// default), each already checked against its key's kind.
///
/// A key with a default always has a value, so the typed readers (``text(_:)``,
/// ``integer(_:)``…) take none: the default is written once, in the key.
public struct ConfigValues: Sendable {
    let resolved: [String: (raw: String, source: ConfigSource)]

    init(_ resolved: [String: (raw: String, source: ConfigSource)]) {
        self.resolved = resolved
    }

    /// The value of an optional key, or nil when it is not set.
    public func string(_ path: String) -> String? { resolved[path]?.raw }

    /// Where a key's value came from, or nil when it is not set.
    public func source(of path: String) -> ConfigSource? { resolved[path]?.source }

    /// The value of a key with a default.
    public func text(_ path: String) -> String {
        guard let raw = resolved[path]?.raw else {
            preconditionFailure("configuration key \(path) has no value: give it a default in its ConfigKey")
        }
        return raw
    }

    public func integer(_ path: String) -> Int { parsed(path, Int.init) }
    public func number(_ path: String) -> Double { parsed(path, Double.init) }
    public func flag(_ path: String) -> Bool { parsed(path, Self.parseBool) }
    public func choice<T: RawRepresentable>(_ path: String) -> T where T.RawValue == String {
        parsed(path) { T(rawValue: $0.lowercased()) }
    }
    /// A prefix: `raw` and `raw/` both mean the folder `raw/`; `/` alone means the whole store.
    public func prefix(_ path: String) -> String { Self.prefix(text(path)) }
    /// Seconds as a duration.
    public func seconds(_ path: String) -> Duration { .milliseconds(Int(number(path) * 1000)) }

    /// The value of a key with a default, parsed by `parse` (which its check has already run).
    public func parsed<T>(_ path: String, _ parse: (String) -> T?) -> T {
        guard let value = parse(text(path)) else {
            preconditionFailure("configuration key \(path) was checked but does not parse")
        }
        return value
    }

    /// A problem unless `first` and `second` are both set or both unset.
    public func requireTogether(_ first: String, _ second: String) -> [ConfigProblem] {
        switch (resolved[first], resolved[second]) {
        case (.some(let value), nil):
            [.init(key: second, found: nil, source: nil, expected: "a value, because \(first) is set (\(value.source))")]
        case (nil, .some(let value)):
            [.init(key: first, found: nil, source: nil, expected: "a value, because \(second) is set (\(value.source))")]
        default: []
        }
    }

    public static func parseBool(_ value: String) -> Bool? {
        switch value.lowercased() {
        case "true", "yes", "on", "1": true
        case "false", "no", "off", "0": false
        default: nil
        }
    }

    /// `raw` and `raw/` both mean the folder `raw/`; `/` alone means the whole store.
    public static func prefix(_ value: String) -> String {
        let trimmed = value.drop { $0 == "/" }
        return trimmed.isEmpty || trimmed.hasSuffix("/") ? String(trimmed) : trimmed + "/"
    }
}
