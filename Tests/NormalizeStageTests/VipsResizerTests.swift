import CJPEG
import CVips
import Foundation
import PipelineCommon
import TestSupport
import Testing

@Suite("libvips resizer: one decode, every fit mode, odd sizes, formats, metadata, alpha, statistics")
struct VipsResizerTests {
    let resizer = VipsResizer()
    let inspector = ImageInspector()

    func render(_ input: String, _ specs: [VariantSpec], in dir: TemporaryDirectory, statistics: String? = nil)
        async throws -> (RenderedImage, [String: ImageInfo])
    {
        let outputs = specs.map { dir.file("out-\(UUID().uuidString).\($0.format.fileExtension)") }
        let rendered = try await resizer.render(input, variants: specs, outputs: outputs, statistics: statistics)
        var infos: [String: ImageInfo] = [:]
        for (spec, output) in zip(specs, outputs) { infos[spec.name] = try await inspector.validate(output).get() }
        return (rendered, infos)
    }

    @Test func everyFitModeGivesThePredictedSizeInEveryFormat() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let specs: [VariantSpec] = [
            .init(name: "contain", width: 200, height: 200, fit: .contain, format: .jpeg),
            .init(name: "cover", width: 100, height: 150, fit: .cover, format: .webp),
            .init(name: "fill", width: 90, height: 40, fit: .fill, format: .png),
            .init(name: "pad", width: 64, height: 64, fit: .pad, format: .png),
        ]
        for (width, height) in [(640, 480), (480, 640), (1, 1), (1, 2000), (333, 77)] {
            let input = try TestImages.photo(dir, "in-\(width)x\(height).jpg", width: width, height: height)
            let (rendered, infos) = try await render(input, specs, in: dir)
            #expect(rendered.sourceWidth == width && rendered.sourceHeight == height)
            for spec in specs {
                let expected = VariantGeometry(sourceWidth: width, sourceHeight: height, spec: spec)
                let info = try #require(infos[spec.name])
                #expect(
                    info.width == expected.width && info.height == expected.height,
                    "\(spec.name) of \(width)×\(height): \(info.width)×\(info.height)")
                #expect(info.format == spec.format.rawValue)
                #expect(info.colorSpace == "srgb" && info.bitsPerSample == 8)
            }
        }
    }

    @Test func exifOrientationIsAppliedAndMetadataStripped() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        // Stored 60×40 with orientation 6: displayed 40×60.
        let input = try TestImages.exifRotatedJPEG(dir, "rotated.jpg", width: 60, height: 40)
        let (rendered, infos) = try await render(
            input, [.init(name: "v", width: 30, height: 30, fit: .contain, format: .jpeg)], in: dir)
        #expect(rendered.sourceWidth == 40 && rendered.sourceHeight == 60)
        #expect(infos["v"]?.width == 20 && infos["v"]?.height == 30)
        #expect(infos["v"]?.orientation == 1, "no orientation tag left")
    }

    @Test func cmykAndSixteenBitBecomeEightBitSRGB() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        for input in [try TestImages.cmykJPEG(dir, "cmyk.jpg"), try TestImages.sixteenBitPNG(dir, "deep.png")] {
            let (_, infos) = try await render(
                input, [.init(name: "v", width: 32, height: 32, format: .png)], in: dir)
            #expect(infos["v"]?.colorSpace == "srgb" && infos["v"]?.bitsPerSample == 8 && infos["v"]?.bands == 3)
        }
    }

    @Test func alphaIsFlattenedForJPEGAndKeptForPNG() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let rgb = try TestImages.photo(dir, "rgb.v", width: 50, height: 50)
        try TestImages.vips(["bandjoin_const", rgb, dir.file("rgba.png"), "128"])
        let (_, infos) = try await render(
            dir.file("rgba.png"),
            [
                .init(name: "jpeg", width: 20, height: 20, format: .jpeg),
                .init(name: "png", width: 20, height: 20, format: .png),
            ], in: dir)
        #expect(infos["jpeg"]?.bands == 3)
        #expect(infos["png"]?.bands == 4)
    }

    /// PNG goes through libvips; a colour JPEG through the resizer's own buffers.
    @Test(arguments: ["png", "jpg[Q=95]"])
    func paddingIsTheColourAskedForAndStatisticsAddUp(_ format: String) async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        // A white 100×50 image padded to 40×40 on black: 40×20 white, 40×20 black.
        try TestImages.vips(["black", dir.file("b.v"), "100", "50", "--bands", "3"])
        try TestImages.vips(["linear", dir.file("b.v"), dir.file("w.v"), "1", "255"])
        try TestImages.vips(["cast", dir.file("w.v"), dir.file("white.\(format)"), "uchar"])
        let file = dir.file("white." + (format.split(separator: "[").first.map(String.init) ?? format))
        let spec = VariantSpec(name: "train", width: 40, height: 40, fit: .pad, format: .png)
        let (rendered, _) = try await render(file, [spec], in: dir, statistics: "train")
        let statistics = try #require(rendered.statistics)
        #expect(statistics.pixels == 1600)
        for band in 0..<3 {
            #expect(abs(statistics.mean[band] - 0.5) < 0.01)
            #expect(abs(statistics.standardDeviation[band] - 0.5) < 0.01)
        }
    }

    /// What a served model sees (pixels rendered in memory) is exactly what it was trained on:
    /// the variant's lossless encoding decoded, for every fit, with alpha and EXIF rotation.
    @Test func pixelsInMemoryEqualTheDecodedVariantAndEveryPhaseIsTimed() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let inputs = [
            try TestImages.photo(dir, "photo.jpg", width: 640, height: 480),
            try TestImages.exifRotatedJPEG(dir, "rotated.jpg", width: 60, height: 40),
            try TestImages.cmykJPEG(dir, "cmyk.jpg"),
            try TestImages.sixteenBitPNG(dir, "deep.png"),
        ]
        let specs: [VariantSpec] = [
            .init(name: "pad", width: 32, height: 32, fit: .pad, format: .png),
            .init(name: "cover", width: 48, height: 24, fit: .cover, format: .jpeg, quality: 90),
            .init(name: "contain", width: 100, height: 100, fit: .contain, format: .webp),
        ]
        for input in inputs {
            for spec in specs {
                var lossless = spec
                lossless.format = .png
                let (rendered, _) = try await render(input, [lossless], in: dir)
                let decoded = dir.file("decoded-\(UUID().uuidString).png")
                try rendered.encoded[0].write(to: URL(fileURLWithPath: decoded))
                let expected = try ImagePixels.load(decoded)
                let pixels = try await resizer.pixels(input, variant: spec)
                #expect(pixels == expected, "\(spec.name) of \((input as NSString).lastPathComponent)")
                #expect(rendered.timing.decode > 0 && rendered.timing.resample >= 0 && rendered.timing.encode > 0)
            }
        }
    }
}

/// Plain JPEGs (sRGB or grey, upright, with or without an ICC profile) are decoded by libjpeg itself with DCT
/// scaling; every other image by libvips. Both must give the variants libvips' path gives.
@Suite("libjpeg decoding: the same variants as libvips' shrink-on-load")
struct JPEGDecodingTests {
    let resizer = VipsResizer()

    /// The pixels of one lossless variant of `input`.
    func variant(_ input: String, _ spec: VariantSpec, in dir: TemporaryDirectory) async throws -> ImagePixels {
        var lossless = spec
        lossless.format = .png
        let rendered = try await resizer.render(input, variants: [lossless], statistics: nil)
        let decoded = dir.file("decoded-\(UUID().uuidString).png")
        try rendered.encoded[0].write(to: URL(fileURLWithPath: decoded))
        return try ImagePixels.load(decoded)
    }

    @Test func aPlainJPEGGivesTheVariantsOfTheSamePixelsThroughLibvips() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let jpeg = try TestImages.photo(dir, "photo.jpg", width: 640, height: 480)
        // The same decoded pixels as a PNG, which libvips loads.
        let png = dir.file("photo.png")
        try ImagePixels.load(jpeg).writePNG(png)
        let specs: [VariantSpec] = [
            .init(name: "same", width: 1024, height: 1024, fit: .contain, format: .png),
            .init(name: "reduced", width: 512, height: 512, fit: .contain, format: .png),
            // Small enough for DCT scaling (1/2 and 1/8) on the JPEG path.
            .init(name: "quarter", width: 100, height: 100, fit: .cover, format: .png),
            .init(name: "tiny", width: 32, height: 32, fit: .pad, format: .png),
        ]
        for spec in specs {
            let fromJPEG = try await variant(jpeg, spec, in: dir)
            let fromPNG = try await variant(png, spec, in: dir)
            #expect(fromJPEG.width == fromPNG.width && fromJPEG.height == fromPNG.height)
            let differences = zip(fromJPEG.bytes, fromPNG.bytes).map { abs(Int($0) - Int($1)) }
            let mean = Double(differences.reduce(0, +)) / Double(max(1, differences.count))
            if spec.name == "same" {
                #expect(differences.max() == 0, "\(spec.name): the same decode")
            } else if spec.name == "reduced" {
                // The PNG's reduction is libvips' own, inside its shrink-on-load.
                #expect(mean < 0.6 && differences.max()! <= 3, "\(spec.name): mean difference \(mean)")
            } else {
                // DCT scaling averages 8x8 blocks where libvips' path resamples the full image.
                #expect(mean < 3, "\(spec.name): mean difference \(mean)")
            }
        }
    }

    /// An embedded ICC profile changes nothing: libvips' thumbnail leaves the pixels as they are
    /// (no export profile is ever given), so a tagged JPEG takes the libjpeg path and gives the
    /// variants its untagged bytes give.
    @Test func anICCProfileChangesNeitherLibvipsPixelsNorTheVariants() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let plain = try TestImages.photo(dir, "plain.jpg", width: 640, height: 480)
        let tagged = dir.file("tagged.jpg")
        try TestImages.vips(["icc_transform", plain, tagged + "[Q=90]", "p3", "--input-profile", "srgb"])
        // The same bytes without the profile's APP2 segments.
        let bytes = try Data(contentsOf: URL(fileURLWithPath: tagged))
        var untaggedBytes = Data(bytes.prefix(2))
        var index = 2
        var segments = 0
        while index + 4 <= bytes.count, bytes[index] == 0xFF, bytes[index + 1] != 0xDA {
            let length = Int(bytes[index + 2]) << 8 | Int(bytes[index + 3])
            let segment = bytes[index..<(index + 2 + length)]
            if bytes[index + 1] == 0xE2, segment.dropFirst(4).starts(with: Data("ICC_PROFILE".utf8)) {
                segments += 1
            } else {
                untaggedBytes.append(segment)
            }
            index += 2 + length
        }
        untaggedBytes.append(bytes[index...])
        #expect(segments > 0, "the tagged JPEG carries a profile")
        let untagged = dir.file("untagged.jpg")
        try untaggedBytes.write(to: URL(fileURLWithPath: untagged))

        func thumbnail(_ path: String) throws -> ImagePixels {
            let output = dir.file("thumbnail-\(UUID().uuidString).png")
            try TestImages.vips(["thumbnail", path, output, "200"])
            return try ImagePixels.load(output)
        }
        #expect(try thumbnail(tagged) == thumbnail(untagged), "libvips' thumbnail applies no profile")
        let specs: [VariantSpec] = [
            .init(name: "reduced", width: 512, height: 512, fit: .contain, format: .jpeg),
            .init(name: "tiny", width: 32, height: 32, fit: .pad, format: .png),
        ]
        let fromTagged = try await resizer.render(tagged, variants: specs, statistics: "tiny")
        let fromUntagged = try await resizer.render(untagged, variants: specs, statistics: "tiny")
        #expect(fromTagged.encoded == fromUntagged.encoded)
        #expect(fromTagged.statistics == fromUntagged.statistics)
    }

    @Test func aTruncatedJPEGIsStillRejectedAndRotatedOrCMYKOnesStillRender() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let truncated = await ImageInspector().validate(try TestImages.truncatedJPEG(dir, "cut.jpg"))
        guard case .failure(let rejection) = truncated else {
            Issue.record("a truncated JPEG passed validation")
            return
        }
        #expect(rejection.reason == "corrupt or truncated")
        let rotated = try await variant(
            try TestImages.exifRotatedJPEG(dir, "rotated.jpg", width: 60, height: 40),
            .init(name: "v", width: 30, height: 30, fit: .contain, format: .png), in: dir)
        #expect(rotated.width == 20 && rotated.height == 30, "EXIF orientation applied (libvips' path)")
        let cmyk = try await variant(
            try TestImages.cmykJPEG(dir, "cmyk.jpg"), .init(name: "v", width: 16, height: 16, fit: .fill, format: .png),
            in: dir)
        #expect(cmyk.bands == 3 && cmyk.width == 16)
    }

    @Test(arguments: [82, 95])
    func libjpegEncodesWhatLibvipsJpegsaveEncodes(quality: Int) async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let pixels = try ImagePixels.load(try TestImages.photo(dir, "photo.jpg", width: 333, height: 77))
        VipsRuntime.start()
        let image = try #require(
            pixels.bytes.withUnsafeBytes {
                pl_vips_image_from_uchar($0.baseAddress, $0.count, Int32(pixels.width), Int32(pixels.height), 3)
            })
        defer { pl_g_object_unref(image) }
        var buffer: UnsafeMutableRawPointer?
        var length = 0
        #expect(pl_vips_jpegsave_buffer(image, &buffer, &length, Int32(quality)) == 0)
        let byLibvips = Data(bytes: try #require(buffer), count: length)
        pl_g_free(buffer)
        var encoded: UnsafeMutablePointer<UInt8>?
        var count = 0
        #expect(
            pixels.bytes.withUnsafeBufferPointer {
                pl_jpeg_encode(
                    $0.baseAddress, Int32(pixels.width), Int32(pixels.height), 3, Int32(quality), &encoded, &count, nil,
                    0)
            } == 0)
        let byLibjpeg = Data(bytes: try #require(encoded), count: count)
        free(encoded)
        let paths = [dir.file("vips.jpg"), dir.file("ours.jpg")]
        try byLibvips.write(to: URL(fileURLWithPath: paths[0]))
        try byLibjpeg.write(to: URL(fileURLWithPath: paths[1]))
        #expect(try ImagePixels.load(paths[0]) == ImagePixels.load(paths[1]), "the same pixels at quality \(quality)")
        #expect(abs(byLibvips.count - byLibjpeg.count) < 64, "\(byLibvips.count) and \(byLibjpeg.count) bytes")
    }
}
