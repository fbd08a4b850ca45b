import CVips

/// libvips, initialised once per process.
public enum VipsRuntime {
    private static let initialised: Bool = pl_vips_init("image-pipeline") == 0

    /// Initialises libvips if needed; false when it could not start (a broken installation).
    @discardableResult
    public static func start() -> Bool { initialised }

    /// e.g. "8.14.1".
    public static var version: String {
        start()
        return String(cString: pl_vips_version_string())
    }
}
