/// Why an image was rejected. Recorded with the item, never silently dropped.
public enum ImageRejection: Error, Sendable, Equatable, CustomStringConvertible {
    case emptyFile
    /// No decoder recognised the bytes (a text file named `.jpg`, an unknown format).
    case unsupportedFormat(detail: String)
    /// The header declares more pixels than allowed: a decompression bomb, refused unread.
    case tooManyPixels(width: Int, height: Int, limit: Int)
    /// The pixels could not be decoded: truncated data, bad checksums, corrupt segments.
    case corrupt(detail: String)

    /// A short, stable reason for manifests and metrics (`rejected_by_reason`).
    public var reason: String {
        switch self {
        case .emptyFile: "empty file"
        case .unsupportedFormat: "unsupported format"
        case .tooManyPixels: "too many pixels"
        case .corrupt: "corrupt or truncated"
        }
    }

    /// `<reason>: <details>`, so that summaries can count rejections by their reason.
    public var description: String {
        switch self {
        case .emptyFile: "empty file: 0 bytes"
        case .unsupportedFormat(let detail): "unsupported format: \(detail)"
        case .tooManyPixels(let width, let height, let limit):
            "too many pixels: \(width)×\(height) is \(width * height) pixels, over the limit of \(limit); raise the stage's max_pixels (ingest.max_pixels, infer.max_pixels) if this is a real image"
        case .corrupt(let detail): "corrupt or truncated: \(detail)"
        }
    }
}
