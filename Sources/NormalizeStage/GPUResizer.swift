import PipelineCommon

/// The stub of a GPU resizer: this build has none, and it says so.
public struct GPUResizer: Resizer {
    public init() {}
    public var name: String { "gpu" }
    public var revision: Int { 1 }
    public var unavailableReason: String? {
        "no GPU resizer is built into this binary (and none is needed: the libvips CPU resizer uses every core); use --resizer cpu"
    }
    public func render(_ input: ImageInput, variants: [VariantSpec], statistics: String?) async throws
        -> RenderedImage
    {
        throw ResizeError(message: unavailableReason ?? "gpu resizer unavailable")
    }
}
