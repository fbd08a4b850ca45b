import Foundation

/// The one JSON configuration used for stored JSON and manifest files: sorted keys,
/// unescaped slashes, so the same value always gives the same bytes.
enum ManifestJSON {
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }()

    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }()

    static func string(_ value: some Encodable) -> String {
        (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "null"
    }
}

extension JSONEncoder {
    /// Sorted keys, slashes unescaped: the same value always encodes to the same bytes
    /// (work payloads, configuration identities, annotation JSON, output files).
    public static var canonical: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}
