import Foundation

/// Credentials and region from the AWS CLI's shared files, `~/.aws/credentials` and
/// `~/.aws/config` (or `AWS_SHARED_CREDENTIALS_FILE` / `AWS_CONFIG_FILE`), for a profile.
public enum AWSProfileFiles {
    public struct Profile: Sendable, Equatable {
        public var credentials: AWSCredentials?
        public var region: String?
    }

    /// The profile's settings, merged from both files (the credentials file wins), or nil
    /// when neither file has the profile.
    public static func profile(_ name: String, environment: [String: String]) -> Profile? {
        let home = environment["HOME"] ?? NSHomeDirectory()
        let credentialsFile = environment["AWS_SHARED_CREDENTIALS_FILE"] ?? home + "/.aws/credentials"
        let configFile = environment["AWS_CONFIG_FILE"] ?? home + "/.aws/config"
        let fromCredentials = sections(of: credentialsFile)[name]
        // In the config file every profile but the default is written `[profile name]`.
        let fromConfig =
            sections(of: configFile)[name == "default" ? "default" : "profile \(name)"]
            ?? sections(of: configFile)[name]
        guard fromCredentials != nil || fromConfig != nil else { return nil }
        let merged = (fromConfig ?? [:]).merging(fromCredentials ?? [:]) { $1 }
        var profile = Profile(credentials: nil, region: merged["region"])
        if let id = merged["aws_access_key_id"], let secret = merged["aws_secret_access_key"] {
            profile.credentials = AWSCredentials(
                accessKeyId: id, secretAccessKey: secret, sessionToken: merged["aws_session_token"])
        }
        return profile
    }

    /// The `[section]`s of an INI file as dictionaries of `key = value`.
    static func sections(of path: String) -> [String: [String: String]] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [:] }
        var result: [String: [String: String]] = [:]
        var current: String?
        for rawLine in text.split(whereSeparator: \.isNewline) {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("["), line.hasSuffix("]") {
                current = line.dropFirst().dropLast().trimmingCharacters(in: .whitespaces)
                continue
            }
            guard let section = current, let equals = line.firstIndex(of: "=") else { continue }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            let value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            result[section, default: [:]][key] = value
        }
        return result
    }
}
