import CJPEG
import CVips
import Foundation
import NIOPosix

/// Probes and validates image files with libvips on ``BlockingPools/compute``.
///
/// ``probe(_:)`` reads the header only; ``validate(_:)`` also refuses decompression bombs
/// before any pixel is decoded, then decodes the whole image in a streaming pass (constant
/// memory) with every decoder warning treated as an error, so truncated and corrupt files are
/// caught here and not in a later stage.
public struct ImageInspector: Sendable {
    /// Images with more pixels than this are refused unread (default 100 megapixels).
    public let pixelLimit: Int
    private let pool: NIOThreadPool

    public init(pixelLimit: Int = 100_000_000, pool: NIOThreadPool = BlockingPools.compute) {
        self.pixelLimit = pixelLimit
        self.pool = pool
        VipsRuntime.start()
    }

    /// The header of the image at `path`, without decoding pixels.
    public func probe(_ path: String) async throws -> ImageInfo {
        try await probe(.file(path))
    }

    /// ``probe(_:)-(String)`` of an image staged in memory or in a file.
    public func probe(_ input: ImageInput) async throws -> ImageInfo {
        try await pool.runIfActive { try Self.header(ImageSource(input)) }
    }

    /// The image's header once the whole image decoded cleanly, or why it was rejected.
    public func validate(_ path: String) async -> Result<ImageInfo, ImageRejection> {
        await validate(.file(path))
    }

    /// ``validate(_:)-(String)`` of an image staged in memory or in a file.
    public func validate(_ input: ImageInput) async -> Result<ImageInfo, ImageRejection> {
        let limit = pixelLimit
        do {
            return try await pool.runIfActive {
                do {
                    let source = try ImageSource(input)
                    let info = try Self.header(source)
                    guard info.width * info.height <= limit else {
                        return .failure(.tooManyPixels(width: info.width, height: info.height, limit: limit))
                    }
                    try Self.decodeAll(source)
                    return .success(info)
                } catch let rejection as ImageRejection {
                    return .failure(rejection)
                }
            }
        } catch {
            return .failure(.corrupt(detail: "\(error)"))
        }
    }

    static func header(_ source: ImageSource) throws -> ImageInfo {
        // A plain JPEG (8-bit YCbCr, RGB or grey, upright) is what libvips
        // would report from libjpeg's own header, without a libvips image to build and free.
        if let jpeg = source.jpegHeader(), jpeg.plain != 0, jpeg.components == 1 || jpeg.components == 3 {
            return ImageInfo(
                format: "jpeg", width: Int(jpeg.width), height: Int(jpeg.height), bands: Int(jpeg.components),
                bitsPerSample: 8, colorSpace: jpeg.components == 1 ? "b-w" : "srgb", orientation: 1)
        }
        guard let image = source.load() else {
            throw ImageRejection.unsupportedFormat(detail: takeError())
        }
        defer { pl_g_object_unref(image) }
        let loader = pl_vips_image_loader(image).map { String(cString: $0) } ?? "unknown"
        return ImageInfo(
            format: formatName(loader), width: Int(vips_image_get_width(image)),
            height: Int(vips_image_get_height(image)),
            bands: Int(vips_image_get_bands(image)), bitsPerSample: bits(vips_image_get_format(image)),
            colorSpace: interpretationName(vips_image_get_interpretation(image)),
            orientation: Int(vips_image_get_orientation(image)))
    }

    /// Decodes every pixel once, failing on any decoder warning.
    static func decodeAll(_ source: ImageSource) throws {
        // JPEGs through libjpeg itself: a third of libvips' time on a 640x480 image.
        if let decoded = source.decodeJPEGStrictly() { return try decoded.get() }
        guard let image = source.load(strict: true) else {
            throw ImageRejection.corrupt(detail: takeError())
        }
        defer { pl_g_object_unref(image) }
        var mean = 0.0
        guard pl_vips_avg(image, &mean) == 0 else {
            let detail = takeError()
            throw ImageRejection.corrupt(
                detail: detail == "unknown error" ? "the pixel data ends early or is damaged" : detail)
        }
    }

    /// libvips' error text for this thread's last failure, cleared, on one line.
    public static func takeError() -> String {
        guard let text = pl_vips_take_error() else { return "unknown error" }
        defer { pl_g_free(text) }
        let message = String(cString: text).split(whereSeparator: \.isNewline).map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        .filter { !$0.isEmpty }.joined(separator: "; ")
        return message.isEmpty ? "unknown error" : message
    }

    static func formatName(_ loader: String) -> String {
        var name = loader
        for suffix in ["load_source", "load_buffer", "load"] where name.hasSuffix(suffix) {
            name.removeLast(suffix.count)
            break
        }
        return name
    }

    static func bits(_ format: VipsBandFormat) -> Int {
        switch format {
        case VIPS_FORMAT_UCHAR, VIPS_FORMAT_CHAR: 8
        case VIPS_FORMAT_USHORT, VIPS_FORMAT_SHORT: 16
        case VIPS_FORMAT_UINT, VIPS_FORMAT_INT, VIPS_FORMAT_FLOAT: 32
        case VIPS_FORMAT_DOUBLE, VIPS_FORMAT_COMPLEX: 64
        case VIPS_FORMAT_DPCOMPLEX: 128
        default: 0
        }
    }

    static func interpretationName(_ interpretation: VipsInterpretation) -> String {
        switch interpretation {
        case VIPS_INTERPRETATION_sRGB: "srgb"
        case VIPS_INTERPRETATION_RGB: "rgb"
        case VIPS_INTERPRETATION_B_W: "b-w"
        case VIPS_INTERPRETATION_CMYK: "cmyk"
        case VIPS_INTERPRETATION_RGB16: "rgb16"
        case VIPS_INTERPRETATION_GREY16: "grey16"
        case VIPS_INTERPRETATION_LAB: "lab"
        case VIPS_INTERPRETATION_MULTIBAND: "multiband"
        case VIPS_INTERPRETATION_scRGB: "scrgb"
        default: "other"
        }
    }
}
