/// A configuration value that must never be printed: keys, passwords, tokens.
///
/// Its `description`, `debugDescription` and mirror all say `<redacted>`, so a secret that
/// ends up in a log line, an error or `dump` output shows nothing of itself.
public struct Secret: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    /// The secret itself, for the one place that sends it (a header, a signature, a DSN).
    public let value: String

    public init(_ value: String) { self.value = value }

    public static let redacted = "<redacted>"

    public var description: String { Self.redacted }
    public var debugDescription: String { Self.redacted }
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }
}
