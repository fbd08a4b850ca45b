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
        var image = opened
        defer { pl_g_object_unref(image) }
        func step(_ body: (UnsafeMutablePointer<UnsafeMutablePointer<VipsImage>?>) -> Int32) throws {
            var next: UnsafeMutablePointer<VipsImage>?
            guard body(&next) == 0, let next else { throw ResizeError(message: ImageInspector.takeError()) }
            pl_g_object_unref(image)
            image = next
        }
        try step { pl_vips_autorot(image, $0) }
        if vips_image_get_interpretation(image) != VIPS_INTERPRETATION_sRGB {
            try step { pl_vips_colourspace(image, $0, VIPS_INTERPRETATION_sRGB) }
        }
        if vips_image_get_format(image) != VIPS_FORMAT_UCHAR { try step { pl_vips_cast_uchar(image, $0) } }
        if vips_image_get_bands(image) > 3 {
            var three: UnsafeMutablePointer<VipsImage>?
            guard vips_extract_band_shim(image, &three, 0, 3) == 0, let three else {
                throw ResizeError(message: ImageInspector.takeError())
            }
            pl_g_object_unref(image)
            image = three
        }
        var size = 0
        guard let buffer = pl_vips_write_to_memory(image, &size) else {
            throw ResizeError(message: ImageInspector.takeError())
        }
        defer { pl_g_free(buffer) }
        let bytes = Array(UnsafeRawBufferPointer(start: buffer, count: size).bindMemory(to: UInt8.self))
        return ImagePixels(
            width: Int(vips_image_get_width(image)), height: Int(vips_image_get_height(image)),
            bands: Int(vips_image_get_bands(image)), bytes: bytes)
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
