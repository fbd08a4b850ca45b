import Foundation
import Logging
import NIOPosix
import Synchronization

extension S3ObjectStore {
    public func head(_ key: String) async throws -> ObjectInfo {
        let response = try await send("HEAD", objectURL(key), operation: "HeadObject", key: key)
        guard response.isSuccess else { throw failure(response, operation: "HeadObject", key: key) }
        return info(
            key: key, headers: response.headers, size: response.headers["Content-Length"].flatMap { UInt64($0) })
    }
}
