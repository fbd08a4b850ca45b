import Foundation
import Logging
import NIOPosix
import Synchronization

extension S3ObjectStore {
    public func copy(_ source: String, to destination: String) async throws -> ObjectInfo {
        let headers: HTTPHeaders = [
            "x-amz-copy-source": "/\(bucket)/" + URIEncoding.encode(fullKey(source), keepSlash: true)
        ]
        let response = try await send(
            "PUT", objectURL(destination), headers: headers, operation: "CopyObject", key: source)
        // CopyObject can fail after its 200 status line: the error is then in the body.
        guard response.isSuccess, S3XMLElement.parse(response.body)?.name != "Error" else {
            throw failure(response, operation: "CopyObject", key: source)
        }
        return try await head(destination)
    }
}
