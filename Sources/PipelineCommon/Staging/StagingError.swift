/// Why staging failed: an unsafe key, not enough space, corrupted bytes, or local I/O.
public struct StagingError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        case unsafeKey
        case insufficientSpace
        case integrity
        case io
    }

    public let kind: Kind
    public let message: String

    public var description: String { message }
}

extension StagingError: OutageCarrying {
    /// A full staging root is waited out like an outage: space comes back (a run finishes and
    /// removes its files, an operator frees some), and the item itself is fine.
    public var isOutage: Bool { kind == .insufficientSpace }
}
