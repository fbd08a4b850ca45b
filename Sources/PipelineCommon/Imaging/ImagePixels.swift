import CVips
import Foundation

/// Decoded 8-bit sRGB pixels, packed row by row (`bands` values a pixel).
public struct ImagePixels: Sendable, Equatable {
    public let width: Int
    public let height: Int
    public let bands: Int
    public var bytes: [UInt8]

    public init(width: Int, height: Int, bands: Int, bytes: [UInt8]) {
        precondition(bytes.count == width * height * bands)
        self.width = width
        self.height = height
        self.bands = bands
        self.bytes = bytes
    }

    /// Decodes `path` (EXIF orientation applied, converted to 8-bit sRGB, alpha dropped). Blocking: call it
    /// from ``BlockingPools``.
    public static func load(_ path: String) throws -> ImagePixels {
        VipsRuntime.start()
        guard let opened = pl_vips_image_new_from_file_random(path) else {
            throw ResizeError(message: "\(path): \(ImageInspector.takeError())")
        }
        let chain = VipsChain(opened) { ResizeError(message: $0) }
        defer { withExtendedLifetime(chain) {} }
        try chain.apply { pl_vips_autorot($0, $1) }
        return try copy(of: chain.image)
    }

    /// The pixels of a decoded image, converted to 8-bit sRGB with alpha dropped. Blocking.
    static func copy(of image: UnsafeMutablePointer<VipsImage>) throws -> ImagePixels {
        g_object_ref(image)
        let chain = VipsChain(image) { ResizeError(message: $0) }
        defer { withExtendedLifetime(chain) {} }
        try chain.convertToSRGB8()
        if vips_image_get_bands(chain.image) > 3 { try chain.apply { vips_extract_band_shim($0, $1, 0, 3) } }
        var size = 0
        guard let buffer = pl_vips_write_to_memory(chain.image, &size) else {
            throw ResizeError(message: ImageInspector.takeError())
        }
        defer { pl_g_free(buffer) }
        let bytes = Array(UnsafeRawBufferPointer(start: buffer, count: size).bindMemory(to: UInt8.self))
        return ImagePixels(
            width: Int(vips_image_get_width(chain.image)), height: Int(vips_image_get_height(chain.image)),
            bands: Int(vips_image_get_bands(chain.image)), bytes: bytes)
    }

    /// Writes the pixels as a PNG (metadata-free). Blocking.
    public func writePNG(_ path: String) throws {
        VipsRuntime.start()
        guard
            let image = bytes.withUnsafeBytes({
                pl_vips_image_from_uchar($0.baseAddress, $0.count, Int32(width), Int32(height), Int32(bands))
            })
        else { throw ResizeError(message: ImageInspector.takeError()) }
        defer { pl_g_object_unref(image) }
        guard pl_vips_pngsave(image, path, 6) == 0 else {
            throw ResizeError(message: "\(path): \(ImageInspector.takeError())")
        }
    }
}
