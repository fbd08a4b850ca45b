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
    /// True when the object was deleted (an `ObjectRemoved` event, or a key a poll no longer
    /// lists): its items leave the next version.
    public let removed: Bool?

    public init(key: String, etag: String, size: UInt64?, source: Source, removed: Bool? = nil) {
        self.key = key
        self.etag = etag
        self.size = size
        self.source = source
        self.removed = removed
    }

    /// The deletion of `key`; `marker` tells one deletion from another (an event's sequencer, the
    /// version a poll compared its listing with), so a key deleted, uploaded again and deleted
    /// again is queued again.
    public static func removal(key: String, marker: String, source: Source) -> IngestWork {
        IngestWork(key: key, etag: "removed-" + marker, size: nil, source: source, removed: true)
    }

    public var isRemoval: Bool { removed == true }

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
