import Foundation
import Logging
import NIOPosix
import Synchronization

extension S3ObjectStore {
    func fullKey(_ key: String) -> String { prefix + key }

    private var base: String {
        var components = URLComponents(url: endpoint, resolvingAgainstBaseURL: false)!
        if virtualHosted { components.host = bucket + "." + (components.host ?? "") }
        components.path = ""
        components.query = nil
        return components.string ?? endpoint.absoluteString
    }

    func objectURL(_ key: String, query: String = "") -> URL {
        let path = (virtualHosted ? "/" : "/\(bucket)/") + URIEncoding.encode(fullKey(key), keepSlash: true)
        return URL(string: base + path + (query.isEmpty ? "" : "?" + query))!
    }

    func bucketURL(query: String) -> URL {
        URL(string: base + (virtualHosted ? "/" : "/\(bucket)") + "?" + query)!
    }

    func where_(_ key: String?) -> String { "s3://\(bucket)/" + (key.map(fullKey) ?? prefix) }
}
