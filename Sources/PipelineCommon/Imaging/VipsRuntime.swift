import CVips

/// libvips, initialised once per process.
public enum VipsRuntime {
    private static let initialised: Bool = {
        guard pl_vips_init("image-pipeline") == 0 else { return false }
        // Every file is opened once: libvips' operation cache would only hold memory.
        vips_cache_set_max(0)
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
