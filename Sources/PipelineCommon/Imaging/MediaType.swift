/// Content types from file extensions, for uploads.
public enum MediaType {
    static let byExtension: [String: String] = [
        "jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp", "gif": "image/gif",
        "tif": "image/tiff", "tiff": "image/tiff", "bmp": "image/bmp", "avif": "image/avif", "heic": "image/heic",
        "json": "application/json", "jsonl": "application/x-ndjson", "txt": "text/plain", "csv": "text/csv",
        "yaml": "application/yaml", "yml": "application/yaml",
    ]

    /// The content type for `path`'s extension, `application/octet-stream` when unknown.
    public static func forPath(_ path: String) -> String {
        guard let dot = path.lastIndex(of: "."), !path[dot...].contains("/") else { return "application/octet-stream" }
        return byExtension[path[path.index(after: dot)...].lowercased()] ?? "application/octet-stream"
    }
}
