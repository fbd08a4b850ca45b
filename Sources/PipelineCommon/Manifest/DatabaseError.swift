/// A database call that failed: which database (redacted), what was being done, the
/// server's or library's message, and the SQLSTATE when PostgreSQL gave one.
public struct DatabaseError: Error, Sendable, CustomStringConvertible {
    public let database: String
    public let operation: String
    public let message: String
    public let sqlState: String?
    /// The connection broke (server restart, network): the work can be retried on a new one.
    public var connectionLost = false
    /// Another connection held the lock (SQLite's BUSY or LOCKED): the statement can be tried again.
    public var locked = false

    public var description: String {
        let state = sqlState.map { " [SQLSTATE \($0)]" } ?? ""
        return "\(operation) on \(database) failed\(state): \(message)"
    }
}
