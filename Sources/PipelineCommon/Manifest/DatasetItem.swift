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
    /// What an augmented copy is a copy of: ingest's augmented copies are items of their own,
    /// each its own content-addressed object, related to the image they were made from.
    public struct AugmentedCopy: Sendable, Equatable {
        /// The source key of the original image.
        public let original: String
        /// Which copy, from 1.
        public let number: Int
    }

    /// Set when this item is an augmented copy of another image.
    ///
    /// The relation is kept in the item's source key (`<original>#aug<n>`, which also makes
    /// the copies sort right after their original and leave with it); this type is the only
    /// place that writes or reads that form, so no stage parses keys.
    public var augmentedCopy: AugmentedCopy? { Self.augmentedCopy(in: sourceKey) }

    /// The source key of copy `number` of `original`.
    public static func sourceKey(ofCopy number: Int, of original: String) -> String { "\(original)#aug\(number)" }

    /// The relation a source key carries, if it is a copy's.
    public static func augmentedCopy(in sourceKey: String) -> AugmentedCopy? {
        guard let mark = sourceKey.range(of: "#aug", options: .backwards),
            let number = Int(sourceKey[mark.upperBound...]), number >= 1
        else { return nil }
        return AugmentedCopy(original: String(sourceKey[..<mark.lowerBound]), number: number)
    }

    /// The image a source key stands for: the original for a copy's key, else the key itself.
    public static func originalKey(of sourceKey: String) -> String {
        augmentedCopy(in: sourceKey)?.original ?? sourceKey
    }

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
