import CJPEG
import CResample
import CVips
import Foundation
import NIOPosix

/// Renders every variant of one image. ``VipsResizer`` is the CPU implementation;
/// ``GPUResizer`` marks where a GPU one goes and says why it cannot run here.
public protocol Resizer: Sendable {
    /// `cpu` or `gpu`, as `normalize.resizer` and `--resizer` name it.
    var name: String { get }
    /// Why this resizer cannot run on this machine; nil when it can.
    var unavailableReason: String? { get }
    /// Changes when the same image and variants render different bytes or statistics, so that a
    /// normalize version made before is not resumed or reused by a run that renders otherwise.
    var revision: Int { get }
    /// Encodes every variant of the image `input` in memory (`encoded[i]` for `variants[i]`).
    /// `statistics` names the variant whose pixel sums are wanted (the training variant).
    func render(_ input: ImageInput, variants: [VariantSpec], statistics: String?) async throws -> RenderedImage
}

extension Resizer {
    /// ``render(_:variants:statistics:)`` of the image file at `path`.
    public func render(_ path: String, variants: [VariantSpec], statistics: String?) async throws -> RenderedImage {
        try await render(.file(path), variants: variants, statistics: statistics)
    }

    /// ``render(_:variants:statistics:)``, each variant written to its file (`outputs[i]` for `variants[i]`).
    public func render(_ input: String, variants: [VariantSpec], outputs: [String], statistics: String?)
        async throws -> RenderedImage
    {
        let rendered = try await render(input, variants: variants, statistics: statistics)
        for (data, output) in zip(rendered.encoded, outputs) {
            try data.write(to: URL(fileURLWithPath: output))
        }
        return rendered
    }
}

/// What one image became.
public struct RenderedImage: Sendable, Equatable {
    /// The source as displayed (EXIF orientation applied).
    public let sourceWidth: Int
    public let sourceHeight: Int
    public let variants: [String: VariantGeometry]
    public let statistics: PixelStatistics?
    /// Each variant's encoded bytes, in the order the variants were given.
    public let encoded: [Data]
    /// Where the time went: decoding (shrink-on-load, colour conversion), resampling
    /// (resize, crop or pad, statistics) and encoding, summed over the variants.
    public let timing: RenderTiming
}

/// Seconds one image spent in each part of rendering.
public struct RenderTiming: Sendable, Equatable {
    public var decode: Double = 0
    public var resample: Double = 0
    public var encode: Double = 0
    /// When the part being timed began; `lap` ends it.
    var clock = ContinuousClock.now

    public init() {}

    /// Adds the time since the last lap to `part`.
    mutating func lap(_ part: WritableKeyPath<RenderTiming, Double>) {
        let now = ContinuousClock.now
        self[keyPath: part] += (now - clock).seconds
        clock = now
    }

    public static func == (a: RenderTiming, b: RenderTiming) -> Bool {
        a.decode == b.decode && a.resample == b.resample && a.encode == b.encode
    }
}

/// Per-channel sums over an image's pixels (0…255), which add up across images into a
/// dataset's mean and standard deviation.
public struct PixelStatistics: Sendable, Equatable, Codable {
    public var pixels: Int
    public var sum: [Double]
    public var sumOfSquares: [Double]

    public init(pixels: Int, sum: [Double], sumOfSquares: [Double]) {
        self.pixels = pixels
        self.sum = sum
        self.sumOfSquares = sumOfSquares
    }

    /// Sums of the colour channels (alpha left out) over packed 8-bit pixels of `bands` values.
    init(of bytes: UnsafeBufferPointer<UInt8>, bands: Int) {
        let colours = bands >= 3 ? 3 : 1
        var sums = [UInt64](repeating: 0, count: colours)
        var squares = [UInt64](repeating: 0, count: colours)
        let pixels = bytes.count / bands
        for pixel in 0..<pixels {
            let base = pixel * bands
            for band in 0..<colours {
                let value = UInt64(bytes[base + band])
                sums[band] &+= value
                squares[band] &+= value * value
            }
        }
        // `map(Double.init)` would pick an initialiser that reinterprets UInt64's bits.
        self.init(pixels: pixels, sum: sums.map { Double($0) }, sumOfSquares: squares.map { Double($0) })
    }

    public mutating func add(_ other: PixelStatistics) {
        guard sum.count == other.sum.count else { return }
        pixels += other.pixels
        for band in sum.indices {
            sum[band] += other.sum[band]
            sumOfSquares[band] += other.sumOfSquares[band]
        }
    }

    /// Mean per channel on a 0…1 scale, as trainers normalise.
    public var mean: [Double] { sum.map { $0 / Double(max(pixels, 1)) / 255 } }

    /// Population standard deviation per channel on a 0…1 scale.
    public var standardDeviation: [Double] {
        zip(sum, sumOfSquares).map { sum, squares in
            let n = Double(max(pixels, 1))
            let mean = sum / n
            return (max(0, squares / n - mean * mean)).squareRoot() / 255
        }
    }
}

public struct ResizeError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}

/// The libvips resizer: one decode, many variants. The image is shrunk on load (JPEG DCT
/// scaling, WebP/HEIF/TIFF pyramids) straight to the largest size any variant needs, EXIF
/// orientation applied and colour converted to 8-bit sRGB, held once in memory, and each
/// variant is resampled (Lanczos 3) from that or from a larger variant's resampled pixels
/// (``ResampleCascade``), then cropped or padded and encoded with
/// metadata stripped. Runs on ``BlockingPools/compute``.
public struct VipsResizer: Resizer {
    private let pool: NIOThreadPool

    /// - Parameter threads: libvips' own worker threads per operation; with one image per
    ///   core in flight, 1 keeps the two kinds of parallelism from fighting.
    public init(threads: Int = 1, pool: NIOThreadPool = BlockingPools.compute) {
        VipsRuntime.start()
        pl_vips_concurrency_set(Int32(max(1, threads)))
        self.pool = pool
    }

    public var name: String { "cpu" }
    public var unavailableReason: String? { VipsRuntime.start() ? nil : "libvips failed to start" }
    /// 2: smaller variants resampled from larger ones (``ResampleCascade``), JPEGs with an ICC
    /// profile decoded by libjpeg, and the colour-JPEG path's statistics summed right (f64567d).
    public var revision: Int { 2 }

    public func render(_ input: ImageInput, variants: [VariantSpec], statistics: String?) async throws
        -> RenderedImage
    {
        try await pool.runIfActive { try Self.renderBlocking(input, variants: variants, statistics: statistics) }
    }

    /// One variant of the image at `input` as packed pixels (alpha dropped), exactly as the
    /// variant's lossless encoding would decode: what a model trained on that variant sees.
    public func pixels(_ path: String, variant: VariantSpec) async throws -> ImagePixels {
        try await pixels(.file(path), variant: variant)
    }

    /// ``pixels(_:variant:)-(String,_)`` of an image staged in memory or in a file.
    public func pixels(_ input: ImageInput, variant: VariantSpec) async throws -> ImagePixels {
        let lossless = {
            var spec = variant
            spec.format = .png
            return spec
        }()
        return try await pool.runIfActive {
            var pixels: ImagePixels?
            _ = try Self.renderBlocking(
                input, variants: [lossless], statistics: nil,
                output: { _, image in
                    pixels = try ImagePixels.copy(of: image)
                    return Data()
                },
                plainOutput: { _, buffer in
                    // A colour JPEG rendered in buffers: the same pixels, without a libvips image.
                    pixels = ImagePixels(
                        width: buffer.width, height: buffer.height, bands: buffer.bands,
                        bytes: Array(UnsafeBufferPointer(start: buffer.bytes, count: buffer.count)))
                    return Data()
                })
            guard let pixels else { throw ResizeError(message: "\(input.name): no pixels rendered") }
            return pixels
        }
    }

    static func renderBlocking(
        _ input: ImageInput, variants: [VariantSpec], statistics: String?,
        output: ((VariantSpec, UnsafeMutablePointer<VipsImage>) throws -> Data)? = nil,
        plainOutput: ((VariantSpec, PixelBuffer) throws -> Data)? = nil
    ) throws -> RenderedImage {
        var timing = RenderTiming()
        let source = try ImageSource(input)
        defer { withExtendedLifetime(source) {} }
        // A plain JPEG (sRGB or grey, upright; an ICC profile is applied on neither path) is
        // decoded by libjpeg itself.
        let jpeg = source.jpegHeader().flatMap { $0.plain != 0 ? $0 : nil }
        let sourceWidth: Int
        let sourceHeight: Int
        if let jpeg {
            sourceWidth = Int(jpeg.width)
            sourceHeight = Int(jpeg.height)
        } else {
            let info = try ImageInspector.header(source)
            sourceWidth = info.displayWidth
            sourceHeight = info.displayHeight
        }
        let geometries = variants.map {
            VariantGeometry(sourceWidth: sourceWidth, sourceHeight: sourceHeight, spec: $0)
        }
        // The largest resampled size any variant needs, in each direction.
        let needX = geometries.map { Double($0.scaledWidth) / Double(sourceWidth) }.max() ?? 1
        let needY = geometries.map { Double($0.scaledHeight) / Double(sourceHeight) }.max() ?? 1
        let loadWidth = min(sourceWidth, Int((Double(sourceWidth) * needX).rounded(.up)))
        let loadHeight = min(sourceHeight, Int((Double(sourceHeight) * needY).rounded(.up)))

        // DCT scaling as libvips' shrink-on-load chooses it: a factor of at least 2 is left for
        // the Lanczos resampling that follows (shrinking 16x or more loads at 1/8, 8x at 1/4, 4x
        // at 1/2), so every variant is resampled from at least twice its pixels.
        let shrink = min(
            Double(sourceWidth) / Double(max(1, loadWidth)), Double(sourceHeight) / Double(max(1, loadHeight)))
        let denom = shrink >= 16 ? 8 : shrink >= 8 ? 4 : shrink >= 4 ? 2 : 1
        if let jpeg, jpeg.components == 3, output == nil || plainOutput != nil,
            variants.allSatisfy({ $0.background.count == 3 })
        {
            // A colour JPEG, encoded: decoded, resampled, cropped or padded and encoded in buffers
            // of its own, without a libvips image (whose global locks cost more than the pixel
            // work on dataset-sized images). The same bytes as the libvips path below.
            let decoded = try source.decodeJPEGPixels(jpeg, denom: denom)
            timing.lap(\.decode)
            return try renderPlain(
                decoded, sourceWidth: sourceWidth, sourceHeight: sourceHeight, variants: variants,
                geometries: geometries, statistics: statistics, timing: timing,
                output: plainOutput ?? { try $1.encoded($0) })
        }
        let output = output ?? encode
        var handle: UnsafeMutablePointer<VipsImage>?
        if let jpeg {
            handle = try source.decodeJPEG(jpeg, denom: denom)
        } else {
            guard source.thumbnail(&handle, width: max(1, loadWidth), height: max(1, loadHeight)) == 0 else {
                throw ResizeError(message: "\(input.name): \(ImageInspector.takeError())")
            }
        }
        guard let loaded = handle else { throw ResizeError(message: "\(input.name): nothing decoded") }
        let chain = VipsChain(loaded) { ResizeError(message: $0) }
        defer { withExtendedLifetime(chain) {} }
        try chain.convertToSRGB8()
        try chain.apply { pl_vips_copy_memory($0, $1) }
        timing.lap(\.decode)

        var stats: PixelStatistics?
        var encoded = [Data](repeating: Data(), count: variants.count)
        // The scaled images made so far, in memory (the decode first), to resample smaller
        // variants from, as the buffer path does.
        var scaled = [chain]
        for index in ResampleCascade.order(geometries) {
            let spec = variants[index]
            let geometry = geometries[index]
            let from = scaled[
                ResampleCascade.source(
                    for: (geometry.scaledWidth, geometry.scaledHeight),
                    among: scaled.map { (Int(vips_image_get_width($0.image)), Int(vips_image_get_height($0.image))) })]
            g_object_ref(from.image)
            let variant = VipsChain(from.image) { ResizeError(message: $0) }
            defer { withExtendedLifetime(variant) {} }
            let fromWidth = Int(vips_image_get_width(from.image))
            let fromHeight = Int(vips_image_get_height(from.image))
            let resampled = geometry.scaledWidth != fromWidth || geometry.scaledHeight != fromHeight
            if resampled {
                try variant.apply { input, output in
                    resample(input, output, width: geometry.scaledWidth, height: geometry.scaledHeight)
                }
            }
            // Rounding inside the resampler can leave a pixel more or less: settle the size exactly.
            let gotWidth = Int(vips_image_get_width(variant.image))
            let gotHeight = Int(vips_image_get_height(variant.image))
            if gotWidth != geometry.scaledWidth || gotHeight != geometry.scaledHeight {
                try variant.apply {
                    pl_vips_embed_copy($0, $1, 0, 0, Int32(geometry.scaledWidth), Int32(geometry.scaledHeight))
                }
            }
            if resampled, pl_vips_pixels(variant.image) != nil {
                g_object_ref(variant.image)
                scaled.append(VipsChain(variant.image) { ResizeError(message: $0) })
            }
            let bands = Int(vips_image_get_bands(variant.image))
            let hasAlpha = bands == 2 || bands == 4
            switch spec.fit {
            case .cover:
                try variant.apply {
                    pl_vips_extract_area(
                        $0, $1, Int32(-geometry.offsetX), Int32(-geometry.offsetY), Int32(geometry.width),
                        Int32(geometry.height))
                }
            case .pad:
                let colour = hasAlpha ? spec.background + [255] : spec.background
                try variant.apply {
                    pl_vips_embed_colour(
                        $0, $1, Int32(geometry.offsetX), Int32(geometry.offsetY), Int32(geometry.width),
                        Int32(geometry.height), colour, Int32(colour.count))
                }
            case .contain, .fill:
                break
            }
            if hasAlpha, spec.format == .jpeg {
                try variant.apply { pl_vips_flatten($0, $1, spec.background, Int32(spec.background.count)) }
            }
            // The resampled pixels once, in memory: the statistics and the encoder read them
            // there, and the time of each part shows on its own.
            if vips_image_get_width(variant.image) != vips_image_get_width(chain.image)
                || vips_image_get_height(variant.image) != vips_image_get_height(chain.image)
            {
                try variant.apply { pl_vips_copy_memory($0, $1) }
            }
            if spec.name == statistics { stats = try pixelStatistics(variant.image) }
            timing.lap(\.resample)
            encoded[index] = try output(spec, variant.image)
            timing.lap(\.encode)
        }
        return RenderedImage(
            sourceWidth: sourceWidth, sourceHeight: sourceHeight,
            variants: Dictionary(uniqueKeysWithValues: zip(variants.map(\.name), geometries)), statistics: stats,
            encoded: encoded, timing: timing)
    }

    /// The variants of decoded colour pixels, made without libvips: ``pl_resample_lanczos3``,
    /// row copies for crops and pads, then `output` (by default the encoding: libjpeg, libpng,
    /// libvips for WebP only; ``pixels(_:variant:)`` collects the pixels instead).
    static func renderPlain(
        _ decoded: PixelBuffer, sourceWidth: Int, sourceHeight: Int, variants: [VariantSpec],
        geometries: [VariantGeometry], statistics: String?, timing: RenderTiming,
        output: (VariantSpec, PixelBuffer) throws -> Data
    ) throws -> RenderedImage {
        var timing = timing
        var stats: PixelStatistics?
        var encoded = [Data](repeating: Data(), count: variants.count)
        // The scaled images made so far (the decode first), to resample smaller variants from.
        var scaled = [decoded]
        for index in ResampleCascade.order(geometries) {
            let spec = variants[index]
            let geometry = geometries[index]
            let from = scaled[
                ResampleCascade.source(
                    for: (geometry.scaledWidth, geometry.scaledHeight), among: scaled.map { ($0.width, $0.height) })]
            var variant = from
            if geometry.scaledWidth != from.width || geometry.scaledHeight != from.height {
                variant = try from.resampled(width: geometry.scaledWidth, height: geometry.scaledHeight)
                scaled.append(variant)
            }
            switch spec.fit {
            case .cover:
                variant = variant.placed(
                    at: (geometry.offsetX, geometry.offsetY), width: geometry.width, height: geometry.height,
                    background: [0, 0, 0])
            case .pad:
                variant = variant.placed(
                    at: (geometry.offsetX, geometry.offsetY), width: geometry.width, height: geometry.height,
                    background: spec.background.map { UInt8(max(0, min(255, $0.rounded()))) })
            case .contain, .fill:
                break
            }
            if spec.name == statistics { stats = variant.statistics() }
            timing.lap(\.resample)
            encoded[index] = try output(spec, variant)
            timing.lap(\.encode)
        }
        return RenderedImage(
            sourceWidth: sourceWidth, sourceHeight: sourceHeight,
            variants: Dictionary(uniqueKeysWithValues: zip(variants.map(\.name), geometries)), statistics: stats,
            encoded: encoded, timing: timing)
    }

    /// Lanczos 3 to exactly `width` x `height`: ``pl_resample_lanczos3`` for 8-bit images without
    /// alpha held in memory (the common case, several times faster than libvips 8.14's scalar
    /// horizontal pass), libvips' own resize for the rest (alpha, which wants premultiplying).
    static func resample(
        _ input: UnsafeMutablePointer<VipsImage>, _ output: UnsafeMutablePointer<UnsafeMutablePointer<VipsImage>?>,
        width: Int, height: Int
    ) -> Int32 {
        let bands = Int(vips_image_get_bands(input))
        let sourceWidth = Int(vips_image_get_width(input))
        let sourceHeight = Int(vips_image_get_height(input))
        if bands == 1 || bands == 3, vips_image_get_format(input) == VIPS_FORMAT_UCHAR,
            let pixels = pl_vips_pixels(input)
        {
            guard let resampled = pl_vips_new_uchar_like(input, Int32(width), Int32(height)),
                let target = pl_vips_pixels(resampled)
            else { return -1 }
            guard
                pl_resample_lanczos3(
                    pixels, Int32(sourceWidth), Int32(sourceHeight), Int32(bands), target, Int32(width), Int32(height))
                    == 0
            else {
                pl_g_object_unref(resampled)
                return -1
            }
            output.pointee = resampled
            return 0
        }
        return pl_vips_resize(
            input, output, Double(width) / Double(sourceWidth), Double(height) / Double(sourceHeight))
    }

    /// The variant's bytes in its format, metadata stripped.
    static func encode(_ spec: VariantSpec, _ image: UnsafeMutablePointer<VipsImage>) throws -> Data {
        var buffer: UnsafeMutableRawPointer?
        var length = 0
        let saved: Int32
        let bands = Int(vips_image_get_bands(image))
        if spec.format == .jpeg, bands == 1 || bands == 3, vips_image_get_format(image) == VIPS_FORMAT_UCHAR,
            let pixels = pl_vips_pixels(image)
        {
            // Pixels in memory go to libjpeg directly, with the settings libvips' jpegsave uses.
            return try PixelBuffer.jpeg(
                pixels, width: Int(vips_image_get_width(image)), height: Int(vips_image_get_height(image)),
                bands: bands, spec)
        }
        switch spec.format {
        case .jpeg: saved = pl_vips_jpegsave_buffer(image, &buffer, &length, Int32(spec.quality))
        case .webp: saved = pl_vips_webpsave_buffer(image, &buffer, &length, Int32(spec.quality))
        case .png: saved = pl_vips_pngsave_buffer(image, &buffer, &length, 6)
        }
        guard saved == 0, let buffer else {
            throw ResizeError(message: "encoding \(spec.name) as \(spec.format): \(ImageInspector.takeError())")
        }
        return Data(bytesNoCopy: buffer, count: length, deallocator: .custom { pointer, _ in pl_g_free(pointer) })
    }

    /// Sums of the colour channels (alpha left out) over every pixel.
    static func pixelStatistics(_ image: UnsafeMutablePointer<VipsImage>) throws -> PixelStatistics {
        var size = 0
        guard let buffer = pl_vips_write_to_memory(image, &size) else {
            throw ResizeError(message: ImageInspector.takeError())
        }
        defer { pl_g_free(buffer) }
        return PixelStatistics(
            of: UnsafeRawBufferPointer(start: buffer, count: size).bindMemory(to: UInt8.self),
            bands: Int(vips_image_get_bands(image)))
    }
}
