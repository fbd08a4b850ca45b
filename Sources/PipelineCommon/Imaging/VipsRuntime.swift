import CVips

/// libvips, initialised once per process.
public enum VipsRuntime {
    private static let initialised: Bool = {
        // Normalize on 1 000 640x480 JPEGs: page faults 56 000-179 000 to 12 000, 5 % less CPU
        // (perf stat, alternating runs), peak RSS +8 MiB.
        pl_malloc_keep_image_buffers()
        guard pl_vips_init("image-pipeline") == 0 else { return false }
        // Every file is opened once: libvips' operation cache would only hold memory.
        vips_cache_set_max(0)
        // No ORC: with it, images resized on several threads at once crash inside liborc
        // (0.4.33 with libvips 8.14, Debian 12: a NULL dereference in liborc itself, or heap
        // corruption). normalize-bench on 400 small images, run again and again: 3 crashes in
        // 49 runs with ORC, none in 90 without; also 1 in 40 with ORC when the resized variants
        // were not copied to memory first (so the ORC paths themselves, not that copy). The
        // libvips C paths cost about 20 % of normalize's time on 640x480 images (9.2 s against
        // 11.2 s for 1 000).
        pl_vips_vector_disable()
        return true
    }()

    /// Initialises libvips if needed; false when it could not start (a broken installation).
    @discardableResult
    public static func start() -> Bool { initialised }

    /// e.g. "8.14.1".
    public static var version: String {
        start()
        return String(cString: pl_vips_version_string())
    }
}

/// A libvips image that operations replace one after another: each result releases the
/// image before it, and the last is released with the chain. Blocking, like libvips.
/// Code that passes `image` on to C keeps the chain alive to the end of its scope
/// (`defer { withExtendedLifetime(chain) {} }`): Swift may release an object after its last use.
public final class VipsChain {
    public private(set) var image: UnsafeMutablePointer<VipsImage>
    private let failure: (String) -> any Error

    /// Takes over one reference to `image`; `failure` makes the error thrown with libvips' message.
    public init(_ image: UnsafeMutablePointer<VipsImage>, failure: @escaping (String) -> any Error) {
        self.image = image
        self.failure = failure
    }

    deinit { pl_g_object_unref(image) }

    /// Replaces the image with what `operation` makes of it.
    public func apply(
        _ operation: (UnsafeMutablePointer<VipsImage>, UnsafeMutablePointer<UnsafeMutablePointer<VipsImage>?>) -> Int32
    ) throws {
        var next: UnsafeMutablePointer<VipsImage>?
        guard operation(image, &next) == 0, let next else { throw failure(ImageInspector.takeError()) }
        pl_g_object_unref(image)
        image = next
    }

    /// Converts the image to sRGB with 8 bits a band, when it is not already.
    public func convertToSRGB8() throws {
        if vips_image_get_interpretation(image) != VIPS_INTERPRETATION_sRGB {
            try apply { pl_vips_colourspace($0, $1, VIPS_INTERPRETATION_sRGB) }
        }
        if vips_image_get_format(image) != VIPS_FORMAT_UCHAR { try apply { pl_vips_cast_uchar($0, $1) } }
    }
}
