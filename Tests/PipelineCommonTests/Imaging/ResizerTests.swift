import Foundation
import TestSupport
import Testing

@testable import PipelineCommon

@Suite("Render paths: a colour JPEG in buffers of its own gives libvips' bytes")
struct RenderPathsTests {
    /// The dataset benchmark's variants (a cascade: 256 from 512, 32 from 256), rendered in
    /// buffers (libjpeg, the C resampler, libpng) and through libvips images, byte for byte.
    @Test func theBufferPathAndTheLibvipsPathWriteTheSameBytes() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let specs: [VariantSpec] = [
            .init(name: "large", width: 1024, height: 1024, fit: .contain, format: .jpeg, quality: 82),
            .init(name: "medium", width: 512, height: 512, fit: .contain, format: .jpeg, quality: 82),
            .init(name: "small", width: 256, height: 256, fit: .contain, format: .jpeg, quality: 82),
            .init(name: "cover", width: 200, height: 100, fit: .cover, format: .jpeg, quality: 90),
            .init(name: "train", width: 32, height: 32, fit: .pad, format: .png),
        ]
        for (width, height) in [(640, 480), (333, 501)] {
            let photo = try TestImages.photo(dir, "photo-\(width).jpg", width: width, height: height)
            let buffers = try VipsResizer.renderBlocking(.file(photo), variants: specs, statistics: "train")
            let libvips = try VipsResizer.renderBlocking(
                .file(photo), variants: specs, statistics: "train", output: VipsResizer.encode)
            for (index, spec) in specs.enumerated() {
                #expect(!buffers.encoded[index].isEmpty)
                #expect(buffers.encoded[index] == libvips.encoded[index], "\(spec.name) of \(width)x\(height)")
            }
            #expect(buffers.statistics == libvips.statistics)
            #expect(buffers.variants == libvips.variants)
        }
    }
}
