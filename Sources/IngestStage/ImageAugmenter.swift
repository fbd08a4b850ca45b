import CVips
import Foundation
import NIOPosix
import PipelineCommon

/// Applies ``Augmentation``s to image files with libvips on ``BlockingPools/compute``:
/// EXIF orientation first, then each step, saved with metadata stripped, so the output
/// bytes depend only on the input pixels and the steps.
public struct ImageAugmenter: Sendable {
    private let pool: NIOThreadPool

    public init(pool: NIOThreadPool = BlockingPools.compute) {
        self.pool = pool
        VipsRuntime.start()
    }

    public struct Failure: Error, Sendable, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }

    /// Writes `input` transformed by `steps` to `output` (format from its suffix).
    public func apply(_ steps: [Augmentation], input: String, output: String) async throws {
        try await pool.runIfActive { try Self.applyBlocking(steps, input: input, output: output) }
    }

    static func applyBlocking(_ steps: [Augmentation], input: String, output: String) throws {
        guard let opened = pl_vips_image_new_from_file_random(input) else {
            throw Failure(message: "\(input): \(ImageInspector.takeError())")
        }
        let image = VipsChain(opened) { Failure(message: $0) }
        defer { withExtendedLifetime(image) {} }
        try image.apply { pl_vips_autorot($0, $1) }
        for augmentation in steps {
            switch augmentation {
            case .flipHorizontal: try image.apply { pl_vips_flip($0, $1, VIPS_DIRECTION_HORIZONTAL) }
            case .flipVertical: try image.apply { pl_vips_flip($0, $1, VIPS_DIRECTION_VERTICAL) }
            case .rotate(let turns):
                let angle: VipsAngle
                switch ((turns % 4) + 4) % 4 {
                case 1: angle = VIPS_ANGLE_D90
                case 2: angle = VIPS_ANGLE_D180
                case 3: angle = VIPS_ANGLE_D270
                default: continue
                }
                try image.apply { pl_vips_rot($0, $1, angle) }
            case .crop(let box):
                try image.apply {
                    pl_vips_extract_area($0, $1, Int32(box.x), Int32(box.y), Int32(box.width), Int32(box.height))
                }
            case .tone(let brightness, let contrast):
                try image.apply { pl_vips_linear_uchar($0, $1, contrast, brightness) }
            }
        }
        guard pl_vips_write_stripped(image.image, output) == 0 else {
            throw Failure(message: "\(output): \(ImageInspector.takeError())")
        }
    }
}
