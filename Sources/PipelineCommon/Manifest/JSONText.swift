/// Hand-written JSON for the hot paths (one manifest line, one variants object per item),
/// where a `JSONEncoder` per value would cost more than the database write.
enum JSONText {
    /// `text` as a JSON string literal, quotes included.
    static func quote(_ text: String) -> String {
        var needsEscape = false
        for byte in text.utf8 where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
            needsEscape = true
            break
        }
        if !needsEscape { return "\"" + text + "\"" }
        var out = "\""
        out.reserveCapacity(text.utf8.count + 8)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    static func optional(_ text: String?) -> String { text.map(quote) ?? "null" }
    static func optional(_ number: Int?) -> String { number.map { "\($0)" } ?? "null" }

    /// An object from already-encoded values, keys sorted by UTF-8 bytes as `.sortedKeys` does.
    static func object(_ fields: [(String, String)]) -> String {
        "{"
            + fields.sorted { $0.0.utf8.lexicographicallyPrecedes($1.0.utf8) }.map { quote($0.0) + ":" + $0.1 }
            .joined(separator: ",") + "}"
    }

    /// Variants as canonical JSON: `{"name":{"height":…,"key":…,"size":…,"width":…}}`.
    static func variants(_ variants: [String: DatasetItem.Variant]) -> String {
        if variants.isEmpty { return "{}" }
        return object(
            variants.map { name, variant in
                (
                    name,
                    object(
                        [
                            ("height", optional(variant.height)), ("key", quote(variant.key)),
                            ("size", "\(variant.size)"), ("width", optional(variant.width)),
                        ]
                            + (variant.annotations.map { [("annotations", ManifestJSON.string($0))] } ?? [])
                            + (variant.statistics.map { [("statistics", ManifestJSON.string($0))] } ?? []))
                )
            })
    }
}
