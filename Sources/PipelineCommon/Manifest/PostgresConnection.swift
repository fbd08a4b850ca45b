import CLibPQ
import Foundation
import NIOConcurrencyHelpers
import NIOPosix

/// One libpq connection. Every call runs on ``BlockingPools/database``.
///
/// Queries are always parameterised (`$1`, `$2`, …, values sent separately in text form):
/// no value is ever spliced into SQL.
///
/// `@unchecked Sendable`: the `PGconn` pointer is only used while `lock` is held, so at most
/// one thread touches it at a time, as libpq requires.
public final class PostgresConnection: @unchecked Sendable {
    /// A result's rows as text, `nil` for SQL NULL.
    public struct Rows: Sendable {
        public let columns: [String]
        public let values: [[String?]]
        /// Rows affected by INSERT/UPDATE/DELETE.
        public let affected: Int
    }

    private let connection: OpaquePointer
    private let lock = NIOLock()
    private let name: String
    private let pool: NIOThreadPool

    /// Opens a connection from a libpq URI (`postgres://user:password@host:port/db?sslmode=…`).
    public static func connect(
        uri: Secret, connectTimeoutSeconds: Int = 10, pool: NIOThreadPool = BlockingPools.database
    ) async throws -> PostgresConnection {
        let name = Redaction.url(uri.value)
        let connectionString =
            uri.value.contains("connect_timeout")
            ? uri.value
            : uri.value + (uri.value.contains("?") ? "&" : "?") + "connect_timeout=\(connectTimeoutSeconds)"
        return try await pool.runIfActive {
            guard let connection = PQconnectdb(connectionString) else {
                throw DatabaseError(database: name, operation: "connect", message: "out of memory", sqlState: nil)
            }
            guard PQstatus(connection) == CONNECTION_OK else {
                let message = Self.message(PQerrorMessage(connection))
                PQfinish(connection)
                throw DatabaseError(database: name, operation: "connect", message: message, sqlState: nil)
            }
            // Server notices ("relation already exists, skipping") are not errors: keep them off stderr.
            PQsetNoticeProcessor(connection, { _, _ in }, nil)
            return PostgresConnection(connection: connection, name: name, pool: pool)
        }
    }

    private init(connection: OpaquePointer, name: String, pool: NIOThreadPool) {
        self.connection = connection
        self.name = name
        self.pool = pool
    }

    deinit { PQfinish(connection) }

    /// Runs one statement with `parameters` bound to `$1…$n` and returns its rows.
    @discardableResult
    public func query(_ sql: String, _ parameters: [String?] = []) async throws -> Rows {
        try await pool.runIfActive { [self] in
            try lock.withLock { try execute(sql, parameters) }
        }
    }

    /// Runs statements on the locked connection inside ``transaction(_:)``.
    public struct Session {
        fileprivate let connection: PostgresConnection

        @discardableResult
        public func query(_ sql: String, _ parameters: [String?] = []) throws -> Rows {
            try connection.execute(sql, parameters)
        }

        /// `COPY … FROM STDIN` with `data` in COPY's text format.
        public func copyIn(_ sql: String, data: Data) throws {
            try connection.copyIn(sql, data: data)
        }
    }

    /// Runs `body` between BEGIN and COMMIT on this connection (ROLLBACK if it throws),
    /// on the database pool.
    public func transaction<T: Sendable>(_ body: @escaping @Sendable (Session) throws -> T) async throws -> T {
        try await pool.runIfActive { [self] in
            try lock.withLock {
                _ = try execute("BEGIN", [])
                do {
                    let result = try body(Session(connection: self))
                    _ = try execute("COMMIT", [])
                    return result
                } catch {
                    if PQstatus(connection) == CONNECTION_OK { _ = try? execute("ROLLBACK", []) }
                    throw error
                }
            }
        }
    }

    /// Whether the connection is still usable.
    public var isHealthy: Bool { lock.withLock { PQstatus(connection) == CONNECTION_OK } }

    fileprivate func copyIn(_ sql: String, data: Data) throws {
        guard let started = PQexec(connection, sql) else { throw failure("copy", nil) }
        let status = PQresultStatus(started)
        PQclear(started)
        guard status == PGRES_COPY_IN else { throw failure("copy", nil) }
        var sent = true
        data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count, sent {
                let chunk = min(1 << 20, raw.count - offset)
                sent =
                    PQputCopyData(
                        connection, raw.baseAddress!.advanced(by: offset).assumingMemoryBound(to: CChar.self),
                        Int32(chunk)) == 1
                offset += chunk
            }
        }
        guard sent, PQputCopyEnd(connection, nil) == 1 else { throw failure("copy", nil) }
        var firstError: DatabaseError?
        while let result = PQgetResult(connection) {
            if PQresultStatus(result) != PGRES_COMMAND_OK, firstError == nil { firstError = failure("copy", result) }
            PQclear(result)
        }
        if let firstError { throw firstError }
    }

    private func failure(_ operation: String, _ result: OpaquePointer?) -> DatabaseError {
        let message = result.map { Self.message(PQresultErrorMessage($0)) } ?? Self.message(PQerrorMessage(connection))
        let state = result.flatMap { PQresultErrorField($0, Int32(UInt8(ascii: "C"))) }.map { String(cString: $0) }
        var error = DatabaseError(database: name, operation: operation, message: message, sqlState: state)
        error.connectionLost = PQstatus(connection) != CONNECTION_OK
        return error
    }

    /// The server's version, e.g. "PostgreSQL 15.18 (Debian 15.18-0+deb12u1) on x86_64-pc-linux-gnu…".
    public func serverVersion() async throws -> String {
        try await query("SELECT version()").values.first?.first.flatMap { $0 } ?? "unknown"
    }

    fileprivate func execute(_ sql: String, _ parameters: [String?]) throws -> Rows {
        // Keep the C strings alive for the duration of the call.
        let cStrings: [UnsafeMutablePointer<CChar>?] = parameters.map { $0.map { strdup($0) } ?? nil }
        defer { cStrings.forEach { free($0) } }
        let pointers = cStrings.map { UnsafePointer($0) }
        let result = pointers.withUnsafeBufferPointer { buffer in
            PQexecParams(connection, sql, Int32(parameters.count), nil, buffer.baseAddress, nil, nil, 0)
        }
        guard let result else { throw failure("query", nil) }
        defer { PQclear(result) }
        let status = PQresultStatus(result)
        guard status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK else { throw failure("query", result) }
        let columnCount = Int(PQnfields(result))
        let rowCount = Int(PQntuples(result))
        let columns = (0..<columnCount).map { String(cString: PQfname(result, Int32($0))) }
        var values: [[String?]] = []
        values.reserveCapacity(rowCount)
        for row in 0..<rowCount {
            values.append(
                (0..<columnCount).map { column in
                    PQgetisnull(result, Int32(row), Int32(column)) == 1
                        ? nil : String(cString: PQgetvalue(result, Int32(row), Int32(column)))
                })
        }
        let affected = Int(String(cString: PQcmdTuples(result))) ?? 0
        return Rows(columns: columns, values: values, affected: affected)
    }

    private static func message(_ text: UnsafePointer<CChar>?) -> String {
        text.map { String(cString: $0).trimmingCharacters(in: .whitespacesAndNewlines) } ?? "unknown error"
    }
}
