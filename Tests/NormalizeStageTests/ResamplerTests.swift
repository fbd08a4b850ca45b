import CResample
import CVips
import Foundation
import PipelineCommon
import TestSupport
import Testing

/// The resampler normalize uses for 8-bit images without alpha, judged by libvips' own Lanczos 3
/// (`vips_resize`), which it replaces there.
@Suite("Lanczos 3 resampler: the same pixels as libvips' resize, exact sizes, every band count")
struct ResamplerTests {
    /// `pixels` resampled by libvips' resize to exactly `width` x `height`.
    func libvips(_ pixels: ImagePixels, width: Int, height: Int) throws -> [UInt8] {
        VipsRuntime.start()
        let image = try #require(
            pixels.bytes.withUnsafeBytes {
                pl_vips_image_from_uchar(
                    $0.baseAddress, $0.count, Int32(pixels.width), Int32(pixels.height), Int32(pixels.bands))
            })
        defer { pl_g_object_unref(image) }
        var resized: UnsafeMutablePointer<VipsImage>?
        #expect(
            pl_vips_resize(
                image, &resized, Double(width) / Double(pixels.width), Double(height) / Double(pixels.height)) == 0)
        let output = try #require(resized)
        defer { pl_g_object_unref(output) }
        #expect(Int(vips_image_get_width(output)) == width && Int(vips_image_get_height(output)) == height)
        var size = 0
        let buffer = try #require(pl_vips_write_to_memory(output, &size))
        defer { pl_g_free(buffer) }
        return Array(UnsafeRawBufferPointer(start: buffer, count: size))
    }

    func ours(_ pixels: ImagePixels, width: Int, height: Int, portable: Bool = false) -> [UInt8]? {
        var output = [UInt8](repeating: 0, count: width * height * pixels.bands)
        let resample = portable ? pl_resample_lanczos3_portable : pl_resample_lanczos3
        let status = pixels.bytes.withUnsafeBufferPointer { input in
            output.withUnsafeMutableBufferPointer {
                resample(
                    input.baseAddress, Int32(pixels.width), Int32(pixels.height), Int32(pixels.bands), $0.baseAddress,
                    Int32(width), Int32(height))
            }
        }
        return status == 0 ? output : nil
    }

    @Test func reducingAPhotographGivesLibvipsPixels() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let photo = try ImagePixels.load(try TestImages.photo(dir, "photo.jpg", width: 640, height: 480))
        let grey = ImagePixels(
            width: photo.width, height: photo.height, bands: 1,
            bytes: stride(from: 0, to: photo.bytes.count, by: 3).map { photo.bytes[$0] })
        for source in [photo, grey] {
            for (width, height) in [(512, 384), (256, 192), (333, 77), (32, 24), (640, 240), (320, 480)] {
                let expected = try libvips(source, width: width, height: height)
                let got = try #require(ours(source, width: width, height: height))
                #expect(got.count == expected.count)
                #expect(got == ours(source, width: width, height: height, portable: true), "AVX2 and portable agree")
                let differences = zip(got, expected).map { abs(Int($0) - Int($1)) }
                let mean = Double(differences.reduce(0, +)) / Double(differences.count)
                // The same filter; the rounding of fixed-point weights and, for large factors,
                // libvips' box pre-shrink differ by a level or a few at edges.
                #expect(
                    mean < 0.6 && differences.max()! <= 8,
                    "\(source.bands) band(s), \(width)x\(height): mean \(mean), max \(differences.max()!)")
            }
        }
    }

    @Test func aFlatImageStaysFlatAndSizesAreExact() throws {
        for bands in 1...4 {
            for (width, height, toWidth, toHeight) in [
                (7, 5, 3, 2), (1, 1, 1, 1), (1, 9, 1, 4), (100, 1, 9, 1), (5, 5, 11, 13),
            ] {
                let flat = ImagePixels(
                    width: width, height: height, bands: bands,
                    bytes: (0..<width * height).flatMap { _ in [200, 17, 90, 255].prefix(bands) })
                let got = try #require(ours(flat, width: toWidth, height: toHeight))
                #expect(got == (0..<toWidth * toHeight).flatMap { _ in [200, 17, 90, 255].prefix(bands) })
            }
        }
        let one = ImagePixels(width: 1, height: 1, bands: 3, bytes: [1, 2, 3])
        #expect(ours(one, width: 0, height: 1) == nil)
        #expect(ours(ImagePixels(width: 1, height: 1, bands: 5, bytes: [1, 2, 3, 4, 5]), width: 1, height: 1) == nil)
    }
}
