import Foundation

/// Where the manifest store is: a PostgreSQL database or an embedded SQLite file.
public enum ManifestLocation: Sendable, Equatable, CustomStringConvertible {
    /// A libpq connection URI. It may hold a password, so it is kept as a ``Secret``.
    case postgres(connectionURI: Secret)
    case sqlite(path: String)

    public static func parse(_ text: String) -> Result<ManifestLocation, ObjectStoreLocation.LocationError> {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased() else {
            return .failure(.init(reason: "not a URL"))
        }
        switch scheme {
        case "postgres", "postgresql":
            guard let host = components.host, !host.isEmpty else {
                return .failure(.init(reason: "a postgres:// URL needs a host: postgres://user:password@host:5432/db"))
            }
            return .success(.postgres(connectionURI: Secret(text)))
        case "sqlite":
            if let host = components.host, !host.isEmpty {
                return .failure(.init(reason: "a sqlite:// URL takes an absolute path: sqlite:///path/manifest.db"))
            }
            let path = components.path
            guard path.hasPrefix("/"), path.count > 1, !path.hasSuffix("/") else {
                return .failure(
                    .init(reason: "a sqlite:// URL needs an absolute file path: sqlite:///path/manifest.db"))
            }
            return .success(.sqlite(path: path))
        default:
            return .failure(.init(reason: "scheme \(scheme):// is not a manifest store; use postgres:// or sqlite://"))
        }
    }

    /// The location with any password redacted.
    public var description: String {
        switch self {
        case .postgres(let uri): Redaction.url(uri.value)
        case .sqlite(let path): "sqlite://\(path)"
        }
    }
}
