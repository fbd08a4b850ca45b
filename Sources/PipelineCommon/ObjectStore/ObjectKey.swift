/// The rules an object key must follow to become a relative file path safely: in the file
/// store and in the staging area, a key can never name anything outside its root.
public enum ObjectKey {
    /// S3's own limit on key length, in UTF-8 bytes.
    public static let maxLength = 1024
    /// Most file systems' limit on one path component, in bytes.
    public static let maxSegmentLength = 255

    /// Why `key` cannot be used as a relative path, or nil when it can.
    public static func pathProblem(_ key: String) -> String? {
        if key.isEmpty { return "the key is empty" }
        if key.utf8.contains(0) { return "the key contains a NUL byte" }
        if key.utf8.count > maxLength { return "the key is longer than \(maxLength) bytes" }
        if key.hasPrefix("/") { return "the key is an absolute path" }
        if key.hasSuffix("/") { return "the key ends with '/' (a folder marker, not an object)" }
        for segment in key.split(separator: "/", omittingEmptySubsequences: false) {
            if segment.isEmpty { return "the key has an empty segment ('//')" }
            if segment == "." || segment == ".." { return "the key has a '\(segment)' segment" }
            if segment.utf8.count > maxSegmentLength {
                return "a segment of the key is longer than \(maxSegmentLength) bytes"
            }
        }
        return nil
    }
}
