import Foundation
import Logging
import NIOPosix
import Synchronization

extension S3ObjectStore {
    /// A URL anyone can use to `GET` (or `PUT`) `key` until it expires (at most 7 days).
    public func presignedURL(
        for key: String, method: String = "GET", expires: Duration = .seconds(3600), date: Date = Date()
    )
        throws -> URL
    {
        guard expires > .zero, expires <= .seconds(7 * 86_400) else {
            throw ObjectStoreError(
                kind: .service, operation: "Presign", location: where_(key),
                message: "expiry must be between 1 second and 7 days")
        }
        return signer.presign(method: method, url: objectURL(key), expires: expires, date: date)
    }
}
