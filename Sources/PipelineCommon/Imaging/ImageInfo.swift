/// What the header of an image says, read without decoding its pixels.
public struct ImageInfo: Sendable, Equatable, Codable {
    /// `jpeg`, `png`, `webp`, `tiff`, `gif`, `heif`, … (from the loader that recognised it).
    public let format: String
    /// Stored size, before EXIF orientation.
    public let width: Int
    public let height: Int
    public let bands: Int
    public let bitsPerSample: Int
    /// `srgb`, `b-w`, `cmyk`, `rgb16`, `grey16`, `lab`, … as libvips names the interpretation.
    public let colorSpace: String
    /// EXIF orientation, 1 (upright) to 8.
    public let orientation: Int

    /// Size as displayed, after EXIF orientation (orientations 5–8 swap the axes).
    public var displayWidth: Int { orientation >= 5 ? height : width }
    public var displayHeight: Int { orientation >= 5 ? width : height }
}
