import CJPEG
import CPNG
import CResample
import CVips
import Foundation

/// Packed 8-bit pixels (`bands` values a pixel, row by row) in memory of their own: what
/// ``VipsResizer`` renders colour JPEGs on, without a libvips image until an encoder other than
/// libjpeg needs one. Blocking, like libvips.
final class PixelBuffer {
    let width: Int
    let height: Int
    let bands: Int
    let bytes: UnsafeMutablePointer<UInt8>

    var count: Int { width * height * bands }

    /// Uninitialised pixels.
    init(width: Int, height: Int, bands: Int) {
        self.width = width
        self.height = height
        self.bands = bands
        bytes = .allocate(capacity: max(1, width * height * bands))
    }

    deinit { bytes.deallocate() }

    /// Packed grey or RGB pixels as a JPEG by libjpeg, with the settings of libvips' jpegsave.
    static func jpeg(_ pixels: UnsafePointer<UInt8>, width: Int, height: Int, bands: Int, _ spec: VariantSpec) throws
        -> Data
    {
        var encoded: UnsafeMutablePointer<UInt8>?
        var length = 0
        var message = [CChar](repeating: 0, count: 256)
        guard
            pl_jpeg_encode(
                pixels, Int32(width), Int32(height), Int32(bands), Int32(spec.quality), &encoded, &length, &message,
                message.count) == 0, let encoded
        else {
            throw ResizeError(message: "encoding \(spec.name) as jpeg: \(String(cString: message))")
        }
        return Data(bytesNoCopy: encoded, count: length, deallocator: .free)
    }

    /// Lanczos 3 to exactly `width` x `height` (``pl_resample_lanczos3``).
    func resampled(width: Int, height: Int) throws -> PixelBuffer {
        let out = PixelBuffer(width: width, height: height, bands: bands)
        guard
            pl_resample_lanczos3(
                bytes, Int32(self.width), Int32(self.height), Int32(bands), out.bytes, Int32(width), Int32(height)) == 0
        else {
            throw ResizeError(message: "resampling \(self.width)x\(self.height) to \(width)x\(height): out of memory")
        }
        return out
    }

    /// These pixels at `offset` on a `width` x `height` canvas of `background` (one value a
    /// band): a pad when the offset is positive, a crop when it is negative, as libvips' embed
    /// and extract_area make them.
    func placed(at offset: (x: Int, y: Int), width: Int, height: Int, background: [UInt8]) -> PixelBuffer {
        let out = PixelBuffer(width: width, height: height, bands: bands)
        let x0 = max(0, offset.x)
        let x1 = min(width, offset.x + self.width)
        let y0 = max(0, offset.y)
        let y1 = min(height, offset.y + self.height)
        let covered = x0 == 0 && y0 == 0 && x1 == width && y1 == height
        if !covered {
            if background.allSatisfy({ $0 == background.first }) {
                memset(out.bytes, Int32(background.first ?? 0), out.count)
            } else {
                for pixel in 0..<(width * height) {
                    for band in 0..<bands { out.bytes[pixel * bands + band] = background[band % background.count] }
                }
            }
        }
        if x0 < x1 {
            for y in y0..<y1 {
                memcpy(
                    out.bytes + (y * width + x0) * bands,
                    bytes + ((y - offset.y) * self.width + (x0 - offset.x)) * bands, (x1 - x0) * bands)
            }
        }
        return out
    }

    /// Sums of the colour channels over every pixel.
    func statistics() -> PixelStatistics {
        PixelStatistics(of: UnsafeBufferPointer(start: bytes, count: count), bands: bands)
    }

    /// The pixels in the variant's format, metadata stripped: JPEG by libjpeg, PNG by libpng (the
    /// bytes libvips' pngsave writes), WebP by libvips from a memory image of these pixels.
    func encoded(_ spec: VariantSpec) throws -> Data {
        if spec.format == .jpeg, bands == 1 || bands == 3 {
            return try Self.jpeg(bytes, width: width, height: height, bands: bands, spec)
        }
        if spec.format == .png {
            var encoded: UnsafeMutablePointer<UInt8>?
            var length = 0
            var message = [CChar](repeating: 0, count: 256)
            guard
                pl_png_encode(
                    bytes, Int32(width), Int32(height), Int32(bands), 6, &encoded, &length, &message, message.count)
                    == 0, let encoded
            else {
                throw ResizeError(message: "encoding \(spec.name) as png: \(String(cString: message))")
            }
            return Data(bytesNoCopy: encoded, count: length, deallocator: .free)
        }
        guard let image = pl_vips_new_uchar(Int32(width), Int32(height), Int32(bands)),
            let pixels = pl_vips_pixels(image)
        else { throw ResizeError(message: "no memory for \(width)x\(height) pixels") }
        defer { pl_g_object_unref(image) }
        memcpy(pixels, bytes, count)
        return try VipsResizer.encode(spec, image)
    }
}

extension ImageSource {
    /// A plain JPEG (``PLJpegHeader/plain``) decoded by libjpeg at 1/`denom` (DCT scaling)
    /// into pixels of its own.
    func decodeJPEGPixels(_ header: PLJpegHeader, denom: Int) throws(ResizeError) -> PixelBuffer {
        var pixels: PixelBuffer?
        try decodeJPEG(header, denom: denom) { width, height in
            pixels = PixelBuffer(width: width, height: height, bands: Int(header.components))
            return pixels?.bytes
        }
        return pixels!
    }
}
