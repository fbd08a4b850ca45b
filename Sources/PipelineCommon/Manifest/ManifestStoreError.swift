/// A manifest-store operation refused or failed, saying what to do.
public struct ManifestStoreError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        case notFound
        /// The version is published and can no longer change.
        case immutable
        case invalid
        case database
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}
