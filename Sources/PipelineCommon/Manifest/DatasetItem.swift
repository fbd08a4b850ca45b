import Foundation

/// One image in a dataset version.
public struct DatasetItem: Sendable, Equatable, Codable {
    public enum Status: String, Sendable, Codable { case ok, rejected }

    /// One stored size variant of the image.
    public struct Variant: Sendable, Equatable, Codable {
        public let key: String
        public let size: UInt64
        public let width: Int?
        public let height: Int?
        /// The item's annotations in this variant's pixels (normalize); nil when not stored per variant.
        public let annotations: [ImageAnnotation]?
        /// Channel sums of this variant's pixels (normalize's training variant).
        public let statistics: PixelStatistics?

        public init(
            key: String, size: UInt64, width: Int? = nil, height: Int? = nil, annotations: [ImageAnnotation]? = nil,
            statistics: PixelStatistics? = nil
        ) {
            self.key = key
            self.size = size
            self.width = width
            self.height = height
            self.annotations = annotations
            self.statistics = statistics
        }
    }

    public let sourceKey: String
    /// Hex SHA-256 of the bytes.
    public let sha256: String
    public let size: UInt64
    public let width: Int?
    public let height: Int?
    public let format: String?
    /// Annotations as JSON text (COCO-style objects or Label Studio results), `[]` when none.
    public let annotations: String
    public let variants: [String: Variant]
    public let status: Status
    /// Why the item was rejected; nil for `ok` items.
    public let reason: String?

    public init(
        sourceKey: String, sha256: String, size: UInt64, width: Int? = nil, height: Int? = nil, format: String? = nil,
        annotations: String = "[]", variants: [String: Variant] = [:], status: Status = .ok, reason: String? = nil
    ) {
        self.sourceKey = sourceKey
        self.sha256 = sha256
        self.size = size
        self.width = width
        self.height = height
        self.format = format
        self.annotations = annotations
        self.variants = variants
        self.status = status
        self.reason = reason
    }

    /// The variants as canonical JSON text (sorted keys), as stored.
    var variantsJSON: String { JSONText.variants(variants) }

    static func decodeVariants(_ text: String) -> [String: Variant] {
        (try? ManifestJSON.decoder.decode([String: Variant].self, from: Data(text.utf8))) ?? [:]
    }
}

extension DatasetItem {
    /// The same item with other annotations (JSON text).
    public func withAnnotations(_ annotations: String) -> DatasetItem {
        DatasetItem(
            sourceKey: sourceKey, sha256: sha256, size: size, width: width, height: height, format: format,
            annotations: annotations, variants: variants, status: status, reason: reason)
    }
}

/// An object whose items a version took out of the version it was seeded from.
public struct RemovedItem: Sendable, Equatable, Codable {
    public let sourceKey: String
    public let reason: String

    public init(sourceKey: String, reason: String) {
        self.sourceKey = sourceKey
        self.reason = reason
    }

    /// The augmented copies of `key` are `<key>#aug<n>`: the keys in [`key#aug`, `key#auh`).
    static func augmentedRange(of key: String) -> (from: String, to: String) { (key + "#aug", key + "#auh") }
}
