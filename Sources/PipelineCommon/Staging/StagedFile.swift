/// An object staged to local disk, complete and verified.
public struct StagedFile: Sendable, Equatable {
    public let key: String
    public let path: String
    public let size: UInt64
    /// Hex SHA-256 of the bytes on disk, computed while they streamed in.
    public let sha256: String
}
