import Foundation
import TestSupport
import Testing

@testable import PipelineCommon

@Suite("Resizer: the render paths, the resample cascade")
struct ResizerTests {
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

    @Test func theCascadeMakesTheLargestFirstAndResamplesFromTwiceTheSizeOrTheSame() {
        func geometry(_ width: Int, _ height: Int) -> VariantGeometry {
            VariantGeometry(width: width, height: height, scaled: (width, height), offset: (0, 0))
        }
        // Spec order: small, large, tiny, medium, large again.
        let geometries = [
            geometry(256, 192), geometry(640, 480), geometry(32, 24), geometry(512, 384), geometry(640, 480),
        ]
        #expect(ResampleCascade.order(geometries) == [1, 4, 3, 0, 2], "largest first, ties in spec order")
        let decode = (width: 640, height: 480)
        #expect(ResampleCascade.source(for: (512, 384), among: [decode]) == 0)
        // 512x384 is twice 256x192: the smaller source wins.
        #expect(ResampleCascade.source(for: (256, 192), among: [decode, (512, 384)]) == 1)
        // Less than twice (300 < 2 x 160): from the decode.
        #expect(ResampleCascade.source(for: (160, 120), among: [decode, (300, 225)]) == 0)
        // Twice in one direction only: from the decode.
        #expect(ResampleCascade.source(for: (100, 200), among: [decode, (300, 300)]) == 0)
        // The same size is taken as it is; the smallest of several candidates wins.
        #expect(ResampleCascade.source(for: (256, 192), among: [decode, (512, 384), (256, 192)]) == 2)
        #expect(ResampleCascade.source(for: (32, 24), among: [decode, (512, 384), (256, 192)]) == 2)
        // An enlargement comes from the decode.
        #expect(ResampleCascade.source(for: (1280, 960), among: [decode, (512, 384)]) == 0)
    }
}
