import Foundation

/// Removes secrets from text that is about to be shown: URLs with passwords in them and
/// presigned URLs with signatures and credentials in their query.
public enum Redaction {
    /// Query parameters whose values are secrets or would let a reader replay a request.
    static let sensitiveQueryNames: Set<String> = [
        "x-amz-signature", "x-amz-credential", "x-amz-security-token", "signature",
        "awsaccesskeyid", "token", "access_token", "api_key", "apikey", "password",
    ]

    /// `url` with any password replaced by `<redacted>` and sensitive query values removed.
    /// Text that is not a URL is returned unchanged.
    public static func url(_ text: String) -> String {
        guard var components = URLComponents(string: text), components.scheme != nil else {
            return redactUserInfo(text)
        }
        if components.password != nil {
            components.percentEncodedPassword = "%3Credacted%3E"
        }
        if let items = components.queryItems, !items.isEmpty {
            components.queryItems = items.map { item in
                sensitiveQueryNames.contains(item.name.lowercased())
                    ? URLQueryItem(name: item.name, value: Secret.redacted) : item
            }
        }
        return components.string?.replacingOccurrences(of: "%3Credacted%3E", with: Secret.redacted) ?? text
    }

    /// For text URLComponents cannot parse: blanks whatever follows `user:` before `@`.
    static func redactUserInfo(_ text: String) -> String {
        guard let schemeEnd = text.range(of: "://"),
            let at = text.range(of: "@", range: schemeEnd.upperBound..<text.endIndex),
            let colon = text.range(of: ":", range: schemeEnd.upperBound..<at.lowerBound)
        else { return text }
        return String(text[..<colon.upperBound]) + Secret.redacted + String(text[at.lowerBound...])
    }
}
