import Foundation
import Logging
import NIOPosix
import Synchronization

extension S3ObjectStore {
    public func delete(_ key: String) async throws {
        let response = try await send("DELETE", objectURL(key), operation: "DeleteObject", key: key)
        guard response.isSuccess || response.status == 404 else {
            throw failure(response, operation: "DeleteObject", key: key)
        }
    }

    public func delete(_ keys: [String]) async throws -> [String: ObjectStoreError] {
        var failures: [String: ObjectStoreError] = [:]
        var start = 0
        while start < keys.count {
            let batch = keys[start..<min(start + 1000, keys.count)]
            start += batch.count
            let body =
                "<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Quiet>true</Quiet>"
                + batch.map { "<Object><Key>\(S3XMLElement.escape(fullKey($0)))</Key></Object>" }.joined() + "</Delete>"
            let data = Data(body.utf8)
            let headers: HTTPHeaders = [
                "Content-Type": "application/xml", "Content-MD5": Data(MD5.hash(data)).base64EncodedString(),
            ]
            let response = try await send(
                "POST", bucketURL(query: "delete="), headers: headers, body: .bytes(data),
                payloadHash: Hex.encode(SHA256.hash(data)), operation: "DeleteObjects", key: nil)
            guard response.isSuccess else { throw failure(response, operation: "DeleteObjects", key: nil) }
            for error in S3XMLElement.parse(response.body)?.all("Error") ?? [] {
                let key = String((error.value("Key") ?? "").dropFirst(prefix.count))
                failures[key] = ObjectStoreError(
                    kind: .service, operation: "DeleteObjects", location: where_(key), code: error.value("Code"),
                    message: error.value("Message") ?? "")
            }
        }
        return failures
    }
}
