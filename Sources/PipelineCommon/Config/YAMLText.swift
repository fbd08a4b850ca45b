/// Quoting for scalars that are written back out as YAML.
enum YAMLText {
    static func quoteIfNeeded(_ text: String) -> String {
        let plain = text.allSatisfy { $0.isLetter || $0.isNumber || "/._-:@+<>".contains($0) }
        if plain, !text.isEmpty, !text.hasPrefix("@"), !text.hasPrefix("-") { return text }
        let escaped = text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        return "\"\(escaped)\""
    }
}
