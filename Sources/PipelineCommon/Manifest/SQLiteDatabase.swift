import CSQLite
import Foundation
import NIOConcurrencyHelpers
import NIOPosix

/// One SQLite database file, opened in WAL mode. Every call runs on ``BlockingPools/database``.
///
/// `@unchecked Sendable`: the `sqlite3` pointer is only used while `lock` is held.
public final class SQLiteDatabase: @unchecked Sendable {
    public enum Value: Sendable, Equatable {
        case null
        case integer(Int64)
        case real(Double)
        case text(String)
        case blob([UInt8])

        /// The value when it is text.
        public var text: String? {
            if case .text(let value) = self { return value }
            return nil
        }

        public var integer: Int64? {
            if case .integer(let value) = self { return value }
            return nil
        }

        public var real: Double? {
            switch self {
            case .real(let value): value
            case .integer(let value): Double(value)
            default: nil
            }
        }

        /// A blob read back as UTF-8 text (keys are stored as blobs so NUL and byte order survive).
        public var blobText: String? {
            if case .blob(let bytes) = self { return String(decoding: bytes, as: UTF8.self) }
            return text
        }

        /// Text stored as a blob of its UTF-8 bytes.
        public static func utf8(_ text: String) -> Value { .blob(Array(text.utf8)) }

        public static func optional(_ text: String?) -> Value { text.map { .text($0) } ?? .null }
        public static func optional(_ number: Int?) -> Value { number.map { .integer(Int64($0)) } ?? .null }
    }

    /// Runs statements on the locked connection inside ``SQLiteDatabase/transaction(immediate:_:)``.
    public struct Connection {
        fileprivate let database: SQLiteDatabase

        @discardableResult
        public func run(_ sql: String, _ parameters: [Value] = []) throws -> [[Value]] {
            try database.run(sql, parameters)
        }

        /// Runs one statement once per parameter row, preparing it once.
        public func runBatch(_ sql: String, _ rows: [[Value]]) throws {
            try database.runBatch(sql, rows)
        }
    }

    private let handle: OpaquePointer
    private let lock = NIOLock()
    public let path: String
    private let pool: NIOThreadPool

    /// Opens (creating if needed) the database at `path`, with WAL journaling and a busy timeout.
    public static func open(path: String, pool: NIOThreadPool = BlockingPools.database) async throws -> SQLiteDatabase {
        try await pool.runIfActive {
            var handle: OpaquePointer?
            let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX
            let code = sqlite3_open_v2(path, &handle, flags, nil)
            guard code == SQLITE_OK, let handle else {
                let message =
                    handle.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(code))
                sqlite3_close(handle)
                throw DatabaseError(database: "sqlite://\(path)", operation: "open", message: message, sqlState: nil)
            }
            let database = SQLiteDatabase(handle: handle, path: path, pool: pool)
            sqlite3_busy_timeout(handle, 30_000)
            _ = try database.run("PRAGMA journal_mode=WAL", [])
            _ = try database.run("PRAGMA synchronous=NORMAL", [])
            _ = try database.run("PRAGMA foreign_keys=ON", [])
            return database
        }
    }

    private init(handle: OpaquePointer, path: String, pool: NIOThreadPool) {
        self.handle = handle
        self.path = path
        self.pool = pool
    }

    deinit { sqlite3_close_v2(handle) }

    /// Runs one statement with `parameters` bound to `?1…?n` and returns its rows.
    @discardableResult
    public func query(_ sql: String, _ parameters: [Value] = []) async throws -> [[Value]] {
        try await pool.runIfActive { [self] in
            try lock.withLock { try run(sql, parameters) }
        }
    }

    /// Runs `body` in one transaction (`BEGIN IMMEDIATE` takes the write lock up front, so
    /// concurrent writers queue instead of failing halfway), committing if it returns.
    public func transaction<T: Sendable>(immediate: Bool = true, _ body: @escaping @Sendable (Connection) throws -> T)
        async throws -> T
    {
        try await pool.runIfActive { [self] in
            try lock.withLock {
                _ = try run(immediate ? "BEGIN IMMEDIATE" : "BEGIN", [])
                do {
                    let result = try body(Connection(database: self))
                    _ = try run("COMMIT", [])
                    return result
                } catch {
                    _ = try? run("ROLLBACK", [])
                    throw error
                }
            }
        }
    }

    /// The SQLite library version, e.g. "3.40.1".
    public static var libraryVersion: String { String(cString: sqlite3_libversion()) }

    fileprivate func run(_ sql: String, _ parameters: [Value]) throws -> [[Value]] {
        let statement = try prepare(sql)
        defer { sqlite3_finalize(statement) }
        try bind(statement, parameters)
        return try step(statement)
    }

    fileprivate func runBatch(_ sql: String, _ rows: [[Value]]) throws {
        let statement = try prepare(sql)
        defer { sqlite3_finalize(statement) }
        for row in rows {
            try bind(statement, row)
            _ = try step(statement)
            sqlite3_reset(statement)
            sqlite3_clear_bindings(statement)
        }
    }

    private func prepare(_ sql: String) throws -> OpaquePointer {
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(handle, sql, -1, &statement, nil) == SQLITE_OK, let statement else {
            throw error("prepare")
        }
        return statement
    }

    private func bind(_ statement: OpaquePointer, _ parameters: [Value]) throws {
        for (offset, value) in parameters.enumerated() {
            let index = Int32(offset + 1)
            let code: Int32
            switch value {
            case .null: code = sqlite3_bind_null(statement, index)
            case .integer(let number): code = sqlite3_bind_int64(statement, index, number)
            case .real(let number): code = sqlite3_bind_double(statement, index, number)
            case .text(let text):
                code = text.utf8CString.withUnsafeBufferPointer {
                    pl_sqlite3_bind_text_transient(statement, index, $0.baseAddress, Int32($0.count - 1))
                }
            case .blob(let bytes):
                // A zero-length blob still needs a non-null pointer to be a blob rather than NULL.
                code =
                    bytes.isEmpty
                    ? sqlite3_bind_zeroblob(statement, index, 0)
                    : bytes.withUnsafeBytes {
                        pl_sqlite3_bind_blob_transient(statement, index, $0.baseAddress, Int32($0.count))
                    }
            }
            guard code == SQLITE_OK else { throw error("bind") }
        }
    }

    private func step(_ statement: OpaquePointer) throws -> [[Value]] {
        var rows: [[Value]] = []
        while true {
            let step = sqlite3_step(statement)
            if step == SQLITE_DONE { break }
            guard step == SQLITE_ROW else { throw error("step") }
            let count = sqlite3_column_count(statement)
            rows.append(
                (0..<count).map { column in
                    switch sqlite3_column_type(statement, column) {
                    case SQLITE_INTEGER: .integer(sqlite3_column_int64(statement, column))
                    case SQLITE_FLOAT: .real(sqlite3_column_double(statement, column))
                    case SQLITE_TEXT:
                        .text(
                            String(
                                decoding: UnsafeRawBufferPointer(
                                    start: sqlite3_column_text(statement, column),
                                    count: Int(sqlite3_column_bytes(statement, column))), as: UTF8.self))
                    case SQLITE_BLOB:
                        .blob(
                            Array(
                                UnsafeRawBufferPointer(
                                    start: sqlite3_column_blob(statement, column),
                                    count: Int(sqlite3_column_bytes(statement, column)))))
                    default: .null
                    }
                })
        }
        return rows
    }

    private func error(_ operation: String) -> DatabaseError {
        DatabaseError(
            database: "sqlite://\(path)", operation: operation, message: String(cString: sqlite3_errmsg(handle)),
            sqlState: nil)
    }
}
