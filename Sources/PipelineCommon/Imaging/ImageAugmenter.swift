import CVips
import Foundation
import NIOPosix

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
        var image = opened
        defer { pl_g_object_unref(image) }
        func step(_ body: (UnsafeMutablePointer<UnsafeMutablePointer<VipsImage>?>) -> Int32) throws {
            var next: UnsafeMutablePointer<VipsImage>?
            guard body(&next) == 0, let next else { throw Failure(message: ImageInspector.takeError()) }
            pl_g_object_unref(image)
            image = next
        }
        try step { pl_vips_autorot(image, $0) }
        for augmentation in steps {
            switch augmentation {
            case .flipHorizontal: try step { pl_vips_flip(image, $0, VIPS_DIRECTION_HORIZONTAL) }
            case .flipVertical: try step { pl_vips_flip(image, $0, VIPS_DIRECTION_VERTICAL) }
            case .rotate(let turns):
                let angle: VipsAngle
                switch ((turns % 4) + 4) % 4 {
                case 1: angle = VIPS_ANGLE_D90
                case 2: angle = VIPS_ANGLE_D180
                case 3: angle = VIPS_ANGLE_D270
                default: continue
                }
                try step { pl_vips_rot(image, $0, angle) }
            case .crop(let box):
                try step {
                    pl_vips_extract_area(image, $0, Int32(box.x), Int32(box.y), Int32(box.width), Int32(box.height))
                }
            case .tone(let brightness, let contrast):
                try step { pl_vips_linear_uchar(image, $0, contrast, brightness) }
            }
        }
        guard pl_vips_write_stripped(image, output) == 0 else {
            throw Failure(message: "\(output): \(ImageInspector.takeError())")
        }
    }
}
