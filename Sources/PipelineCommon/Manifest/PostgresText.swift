/// Value encodings for libpq's text protocol: byte strings as `bytea` hex, and COPY's text
/// format. Data formats for parameters and COPY streams; no SQL is ever built from values.
enum PostgresText {
    /// `\x6869` for "hi": bytea input in hex form, so NUL and any byte survive.
    static func bytea(_ text: String) -> String { "\\x" + Hex.encode(text.utf8) }

    /// The string a bytea column holds, read back from its `\x…` text output.
    static func string(fromBytea text: String?) -> String {
        guard let text, text.hasPrefix("\\x"), let bytes = Hex.decode(String(text.dropFirst(2))) else {
            return text ?? ""
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Hex of each key's UTF-8 bytes joined by commas, for `decode(unnest(string_to_array($n, ',')), 'hex')`.
    static func hexList(_ keys: [String]) -> String { keys.map { Hex.encode($0.utf8) }.joined(separator: ",") }

    /// One field of a COPY text-format row: `\N` for NULL, backslash escapes otherwise.
    static func copyField(_ value: String?) -> String {
        guard let value else { return "\\N" }
        var plain = true
        for byte in value.utf8
        where byte == UInt8(ascii: "\\") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\n")
            || byte == UInt8(ascii: "\r")
        {
            plain = false
            break
        }
        if plain { return value }
        var out = ""
        out.reserveCapacity(value.utf8.count)
        for char in value.unicodeScalars {
            switch char {
            case "\\": out += "\\\\"
            case "\t": out += "\\t"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            default: out.unicodeScalars.append(char)
            }
        }
        return out
    }

    /// A bytea field of a COPY text-format row (the hex form's backslash escaped).
    static func copyBytea(_ text: String) -> String { "\\\\x" + Hex.encode(text.utf8) }
}
