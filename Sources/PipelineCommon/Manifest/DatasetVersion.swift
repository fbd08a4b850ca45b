import Foundation

/// One version of a dataset, produced by one stage run. A draft collects items; once
/// published it is immutable, and its id is derived from its content, so publishing the
/// same input with the same configuration again yields the same version.
public struct DatasetVersion: Sendable, Equatable, Codable {
    public enum Status: String, Sendable, Codable { case draft, published }

    public let id: String
    public let name: String
    public let stage: String
    public let parents: [String]
    /// Hex SHA-256 of the canonical configuration that produced the version.
    public let configHash: String
    /// The configuration itself (JSON), for the manifest summary.
    public let config: String
    public let status: Status
    public let itemCount: Int
    /// Hex SHA-256 over the canonical item lines, set on publish.
    public let contentDigest: String?
    /// `s3://…/manifest.json` or `file://…/manifest.json`, set on publish.
    public let manifestURI: String?
    public let createdAt: Date
    public let publishedAt: Date?

    public init(
        id: String, name: String, stage: String, parents: [String], configHash: String, config: String, status: Status,
        itemCount: Int, contentDigest: String?, manifestURI: String?, createdAt: Date, publishedAt: Date?
    ) {
        self.id = id
        self.name = name
        self.stage = stage
        self.parents = parents
        self.configHash = configHash
        self.config = config
        self.status = status
        self.itemCount = itemCount
        self.contentDigest = contentDigest
        self.manifestURI = manifestURI
        self.createdAt = createdAt
        self.publishedAt = publishedAt
    }

    /// A setting the stage that made this version recorded in its configuration (`config`, a
    /// JSON object of strings): how a later stage learns what an earlier one decided (ingest's
    /// raw prefix and pixel limit, normalize's variants and training variant) from the
    /// version itself rather than from today's configuration. Nil when not recorded.
    public func recordedSetting(_ name: String) -> String? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(config.utf8)) as? [String: Any] else {
            return nil
        }
        return object[name] as? String
    }
}
