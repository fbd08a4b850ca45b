import Foundation

/// An object staged to local disk, complete and verified.
public struct StagedFile: Sendable, Equatable {
    public let key: String
    public let path: String
    public let size: UInt64
    /// Hex SHA-256 of the bytes on disk, computed while they streamed in.
    public let sha256: String
}

/// An image staged for libvips: its bytes in memory (the common case), or a staged file.
public struct StagedImage: Sendable {
    public let key: String
    public let size: UInt64
    /// Hex SHA-256 of the bytes, computed as they came in.
    public let sha256: String
    public let input: ImageInput

    /// Removes the staged file, if the image was staged to one.
    public func discard() {
        if case .file(let path) = input { unlink(path) }
    }
}
