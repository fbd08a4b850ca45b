import Foundation
import PipelineCommon

/// One object to ingest, as a poll or a bucket notification queued it.
public struct IngestWork: Sendable, Codable, Equatable {
    public enum Source: String, Sendable, Codable { case poll, event }

    /// The key relative to the object store's root.
    public let key: String
    /// The object's ETag when it was seen: together with the key, the object's version.
    public let etag: String
    public let size: UInt64?
    public let source: Source

    public init(key: String, etag: String, size: UInt64?, source: Source) {
        self.key = key
        self.etag = etag
        self.size = size
        self.source = source
    }

    /// The work-queue key: the object and its version, so a changed object is queued again
    /// and a repeated notification of the same upload is not.
    public var queueKey: String { key + "@" + etag }

    var payload: String {
        String(decoding: (try? JSONEncoder.canonical.encode(self)) ?? Data("{}".utf8), as: UTF8.self)
    }

    static func decode(_ payload: String) throws -> IngestWork {
        try JSONDecoder().decode(IngestWork.self, from: Data(payload.utf8))
    }

    /// The queue that ingest workers of `dataset` share.
    /// Its keys are `<key>@<ETag>`, which pruning relies on (`WorkPrunePolicy`).
    static func queue(_ dataset: String) -> String { WorkPrunePolicy.ingestQueuePrefix + dataset }
}
