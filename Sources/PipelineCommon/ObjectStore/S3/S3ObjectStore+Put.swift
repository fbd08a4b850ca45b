import Foundation
import Logging
import NIOPosix
import Synchronization

extension S3ObjectStore {
    public func put(_ key: String, fromFile path: String, contentType: String?, sha256: String?) async throws
        -> ObjectInfo
    {
        try await put(key, fromFile: path, contentType: contentType, sha256: sha256, progress: nil)
    }

    /// ``put(_:fromFile:contentType:sha256:)`` reporting bytes sent so far.
    public func put(
        _ key: String, fromFile path: String, contentType: String?, sha256: String?,
        progress: (@Sendable (_ sent: UInt64) -> Void)?
    ) async throws -> ObjectInfo {
        var status = stat()
        guard stat(path, &status) == 0 else {
            throw ObjectStoreError(
                kind: .local, operation: "PutObject", location: where_(key),
                message: "cannot read \(path): \(String(cString: strerror(errno)))")
        }
        let size = UInt64(status.st_size)
        if size >= multipart.threshold {
            return try await multipartUpload(
                key, path: path, size: size, contentType: contentType, sha256: sha256?.lowercased(),
                progress: progress)
        }
        let digest: String
        if let sha256 {
            digest = sha256.lowercased()
        } else {
            digest = try await BlockingPools.files.runIfActive { Hex.encode(try SHA256.hash(fileAtPath: path)) }
        }
        var transferProgress: (@Sendable (Int64, Int64) -> Void)?
        if let progress {
            transferProgress = { sent, _ in progress(UInt64(max(0, sent))) }
        }
        return try await putObject(
            key, body: .file(path: path), size: size, contentType: contentType, sha256: digest,
            progress: transferProgress)
    }

    public func put(_ key: String, data: Data, contentType: String?) async throws -> ObjectInfo {
        // An image (up to 32 MiB staged in memory) is hashed on a blocking pool, not on the
        // cooperative one; a manifest or a small JSON body right here.
        let sha256 =
            data.count < 1 << 16
            ? Hex.encode(SHA256.hash(data))
            : try await BlockingPools.files.runIfActive { Hex.encode(SHA256.hash(data)) }
        return try await putObject(
            key, body: .bytes(data), size: UInt64(data.count), contentType: contentType, sha256: sha256,
            progress: nil)
    }

    private func putObject(
        _ key: String, body: HTTPRequest.Body, size: UInt64, contentType: String?, sha256: String,
        progress: (@Sendable (Int64, Int64) -> Void)?
    ) async throws -> ObjectInfo {
        let type = contentType ?? "application/octet-stream"
        let headers: HTTPHeaders = ["Content-Type": type, "x-amz-meta-sha256": sha256]
        let response = try await send(
            "PUT", objectURL(key), headers: headers, body: body, payloadHash: sha256, operation: "PutObject", key: key,
            progress: progress, largeBody: size >= Self.largeBody)
        guard response.isSuccess else { throw failure(response, operation: "PutObject", key: key) }
        return ObjectInfo(
            key: key, size: size, etag: Self.unquote(response.headers["ETag"] ?? ""), lastModified: nil,
            sha256: sha256, contentType: type)
    }
}
