import Foundation
import TestSupport
import Testing

@testable import PipelineCommon

/// Real image files made by the `vips` command-line tool (Debian's libvips-tools), then
/// damaged by hand where a test needs a bad one.
@Suite("Image inspection: probe without decoding, validation with reasons")
struct ImageInspectorTests {
    let inspector = ImageInspector(pixelLimit: 50_000_000)

    @Test func probesAJPEGAndAPNGWithoutDecoding() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let jpeg = try await inspector.probe(try TestImages.photo(dir, "a.jpg"))
        #expect(
            jpeg
                == ImageInfo(
                    format: "jpeg", width: 96, height: 64, bands: 3, bitsPerSample: 8, colorSpace: "srgb",
                    orientation: 1))
        let png = try await inspector.probe(try TestImages.photo(dir, "a.png", width: 10, height: 1000))
        #expect(png.format == "png")
        #expect(png.width == 10 && png.height == 1000)
        #expect(try await inspector.validate(dir.file("a.png")) == .success(png))
    }

    @Test func rejectsEmptyTextTruncatedAndCorruptFiles() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        FileManager.default.createFile(atPath: dir.file("empty.jpg"), contents: Data())
        #expect(await inspector.validate(dir.file("empty.jpg")) == .failure(.emptyFile))

        try "just some text, not an image\n".write(toFile: dir.file("text.jpg"), atomically: true, encoding: .utf8)
        guard case .failure(.unsupportedFormat) = await inspector.validate(dir.file("text.jpg")) else {
            Issue.record("a text file named .jpg must be an unsupported format")
            return
        }

        let jpeg = try Data(
            contentsOf: URL(fileURLWithPath: try TestImages.photo(dir, "whole.jpg", width: 400, height: 300)))
        try jpeg.prefix(jpeg.count / 2).write(to: URL(fileURLWithPath: dir.file("truncated.jpg")))
        let truncated = await inspector.validate(dir.file("truncated.jpg"))
        guard case .failure(let rejection) = truncated, rejection.reason == "corrupt or truncated" else {
            Issue.record("a truncated JPEG must be rejected as corrupt, got \(truncated)")
            return
        }

        // Flip bytes inside the PNG's compressed data: its CRC no longer matches.
        var png = try Data(
            contentsOf: URL(fileURLWithPath: try TestImages.photo(dir, "whole.png", width: 200, height: 200)))
        let idat = try #require(png.firstRange(of: Data("IDAT".utf8)))
        for offset in (idat.upperBound + 10)..<(idat.upperBound + 40) { png[offset] ^= 0x5a }
        try png.write(to: URL(fileURLWithPath: dir.file("corrupt.png")))
        let corrupt = await inspector.validate(dir.file("corrupt.png"))
        guard case .failure(.corrupt) = corrupt else {
            Issue.record("a PNG with a damaged chunk must be rejected as corrupt, got \(corrupt)")
            return
        }
    }

    @Test func refusesADecompressionBombFromItsHeader() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        // A small valid PNG whose header is rewritten to declare 50 000 × 50 000 pixels.
        var png = try Data(
            contentsOf: URL(fileURLWithPath: try TestImages.photo(dir, "small.png", width: 8, height: 8)))
        let ihdr = try #require(png.firstRange(of: Data("IHDR".utf8)))
        let fields = ihdr.upperBound
        for (index, byte) in [UInt32(50_000), UInt32(50_000)].flatMap({ withUnsafeBytes(of: $0.bigEndian, Array.init) })
            .enumerated()
        {
            png[fields + index] = byte
        }
        let crc = TestImages.crc32(png[ihdr.lowerBound..<(fields + 13)])
        for (index, byte) in withUnsafeBytes(of: crc.bigEndian, Array.init).enumerated() {
            png[fields + 13 + index] = byte
        }
        try png.write(to: URL(fileURLWithPath: dir.file("bomb.png")))
        #expect(
            await inspector.validate(dir.file("bomb.png"))
                == .failure(.tooManyPixels(width: 50_000, height: 50_000, limit: 50_000_000)))
    }

    @Test func handlesCMYKSixteenBitAndEXIFRotatedImages() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let source = try TestImages.photo(dir, "rgb.v", width: 60, height: 40)
        try TestImages.vips(["colourspace", source, dir.file("cmyk.jpg"), "cmyk"])
        let cmyk = try await inspector.validate(dir.file("cmyk.jpg")).get()
        #expect(cmyk.colorSpace == "cmyk" && cmyk.bands == 4)

        try TestImages.vips(["colourspace", source, dir.file("rgb16.v"), "rgb16"])
        try TestImages.vips(["copy", dir.file("rgb16.v"), dir.file("deep.png")])
        let deep = try await inspector.validate(dir.file("deep.png")).get()
        #expect(deep.bitsPerSample == 16)

        // An EXIF APP1 segment saying "rotate 90° clockwise" (orientation 6) after the JPEG's SOI.
        _ = try TestImages.exifRotatedJPEG(dir, "rotated.jpg", width: 60, height: 40)
        let info = try await inspector.validate(dir.file("rotated.jpg")).get()
        #expect(info.orientation == 6)
        #expect(info.displayWidth == 40 && info.displayHeight == 60)
    }
}
