import Foundation

/// One line of `manifest.jsonl`: an item as canonical JSON (sorted keys, annotations
/// embedded as JSON), so the same items always give the same bytes and the same digest.
enum ManifestLine {
    static func encode(_ item: DatasetItem) -> String {
        JSONText.object([
            ("annotations", validJSON(item.annotations) ?? JSONText.quote(item.annotations)),
            ("format", JSONText.optional(item.format)),
            ("height", JSONText.optional(item.height)),
            ("reason", JSONText.optional(item.reason)),
            ("sha256", JSONText.quote(item.sha256)),
            ("size", "\(item.size)"),
            ("source_key", JSONText.quote(item.sourceKey)),
            ("status", JSONText.quote(item.status.rawValue)),
            ("variants", JSONText.variants(item.variants)),
            ("width", JSONText.optional(item.width)),
        ])
    }

    static func decode(_ line: Substring) throws -> DatasetItem {
        guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
            let key = object["source_key"] as? String, let sha = object["sha256"] as? String,
            let size = (object["size"] as? NSNumber)?.uint64Value
        else { throw ManifestStoreError(.invalid, "manifest line is not an item: \(line.prefix(120))") }
        let annotations =
            object["annotations"].flatMap {
                try? JSONSerialization.data(
                    withJSONObject: $0, options: [.sortedKeys, .withoutEscapingSlashes, .fragmentsAllowed])
            }.map { String(decoding: $0, as: UTF8.self) } ?? "[]"
        let variantsData =
            object["variants"].flatMap { try? JSONSerialization.data(withJSONObject: $0) } ?? Data("{}".utf8)
        return DatasetItem(
            sourceKey: key, sha256: sha, size: size, width: (object["width"] as? NSNumber)?.intValue,
            height: (object["height"] as? NSNumber)?.intValue, format: object["format"] as? String,
            annotations: annotations,
            variants: (try? ManifestJSON.decoder.decode([String: DatasetItem.Variant].self, from: variantsData)) ?? [:],
            status: DatasetItem.Status(rawValue: object["status"] as? String ?? "") ?? .ok,
            reason: object["reason"] as? String)
    }

    /// The text itself when it is one JSON value, re-serialised canonically; nil otherwise.
    static func validJSON(_ text: String) -> String? {
        guard let value = try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed]),
            let data = try? JSONSerialization.data(
                withJSONObject: value, options: [.sortedKeys, .withoutEscapingSlashes, .fragmentsAllowed])
        else { return nil }
        return String(decoding: data, as: UTF8.self)
    }
}
