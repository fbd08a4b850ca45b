import Foundation

/// Where the object store is: a bucket and key prefix on S3, or a directory for the
/// embedded file store. Parsed from `s3://bucket/prefix` or `file:///dir`.
public enum ObjectStoreLocation: Sendable, Equatable, CustomStringConvertible {
    case s3(bucket: String, prefix: String)
    case file(directory: String)

    /// Parses a location URL, or says what is wrong with it.
    public static func parse(_ text: String) -> Result<ObjectStoreLocation, LocationError> {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased() else {
            return .failure(LocationError(reason: "not a URL"))
        }
        switch scheme {
        case "s3":
            guard let bucket = components.host, !bucket.isEmpty else {
                return .failure(LocationError(reason: "an s3:// URL needs a bucket name: s3://bucket/prefix"))
            }
            guard isValidBucketName(bucket) else {
                return .failure(
                    LocationError(
                        reason: "bucket name \"\(bucket)\" is not valid: 3-63 characters of a-z, 0-9, '.' and '-'"))
            }
            var prefix = components.path
            while prefix.hasPrefix("/") { prefix.removeFirst() }
            if !prefix.isEmpty, !prefix.hasSuffix("/") { prefix += "/" }
            return .success(.s3(bucket: bucket, prefix: prefix))
        case "file":
            if let host = components.host, !host.isEmpty, host != "localhost" {
                return .failure(
                    LocationError(reason: "a file:// URL takes an absolute path: file:///dir (three slashes)"))
            }
            let path = components.path
            guard path.hasPrefix("/"), path.count > 1 else {
                return .failure(LocationError(reason: "a file:// URL needs an absolute directory: file:///dir"))
            }
            return .success(.file(directory: path.hasSuffix("/") && path.count > 1 ? String(path.dropLast()) : path))
        default:
            return .failure(LocationError(reason: "scheme \(scheme):// is not an object store; use s3:// or file://"))
        }
    }

    public var description: String {
        switch self {
        case .s3(let bucket, let prefix): "s3://\(bucket)/\(prefix)"
        case .file(let directory): "file://\(directory)"
        }
    }

    /// The URL of the object stored under `key` (relative to this location).
    public func uri(of key: String) -> String {
        switch self {
        case .s3(let bucket, let prefix): "s3://\(bucket)/\(prefix)\(key)"
        case .file(let directory): "file://\(directory)/\(key)"
        }
    }

    /// S3's bucket naming rules (the subset that matters for addressing).
    static func isValidBucketName(_ name: String) -> Bool {
        guard (3...63).contains(name.count) else { return false }
        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789.-")
        guard name.allSatisfy({ allowed.contains($0) }) else { return false }
        guard let first = name.first, let last = name.last else { return false }
        return first.isLetter || first.isNumber ? (last.isLetter || last.isNumber) : false
    }

    public struct LocationError: Error, Sendable, Equatable {
        public let reason: String
    }
}
