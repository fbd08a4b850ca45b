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
    /// How long a statement waits for another process's lock before giving up.
    public let lockTimeout: Duration

    /// Opens (creating if needed) the database at `path`, with WAL journaling, and waits up to
    /// `lockTimeout` whenever another process holds the database's lock.
    public static func open(
        path: String, lockTimeout: Duration = .seconds(30), pool: NIOThreadPool = BlockingPools.database
    ) async throws -> SQLiteDatabase {
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
            let database = SQLiteDatabase(handle: handle, path: path, pool: pool, lockTimeout: lockTimeout)
            sqlite3_extended_result_codes(handle, 1)
            sqlite3_busy_timeout(handle, Int32(clamping: lockTimeout.components.seconds * 1000))
            // Switching a fresh file to WAL needs its exclusive lock and does not wait for it: two
            // processes opening at once see BUSY at once, and the switch is simply tried again.
            try database.retryingWhileLocked(operation: "switch to WAL") {
                let mode = try database.run("PRAGMA journal_mode=WAL", []).first?.first?.text?.lowercased()
                guard mode == "wal" else {
                    throw DatabaseError(
                        database: "sqlite://\(path)", operation: "switch to WAL",
                        message: "the journal mode stayed \(mode ?? "unknown")", sqlState: nil, locked: true)
                }
            }
            _ = try database.run("PRAGMA synchronous=NORMAL", [])
            _ = try database.run("PRAGMA foreign_keys=ON", [])
            return database
        }
    }

    private init(handle: OpaquePointer, path: String, pool: NIOThreadPool, lockTimeout: Duration) {
        self.handle = handle
        self.path = path
        self.pool = pool
        self.lockTimeout = lockTimeout
    }

    deinit { sqlite3_close_v2(handle) }

    /// Runs one statement with `parameters` bound to `?1…?n` and returns its rows.
    @discardableResult
    public func query(_ sql: String, _ parameters: [Value] = []) async throws -> [[Value]] {
        try await pool.runIfActive { [self] in
            try lock.withLock {
                try retryingWhileLocked(operation: "query") { try run(sql, parameters) }
            }
        }
    }

    /// Runs `body` in one transaction (`BEGIN IMMEDIATE` takes the write lock up front, so
    /// concurrent writers queue instead of failing halfway), committing if it returns.
    ///
    /// SQLite answers some lock conflicts with BUSY at once instead of calling the busy
    /// handler (a read lock that cannot be upgraded, a WAL index being rebuilt): the whole
    /// transaction is then rolled back and run again, with a growing pause, until the lock
    /// timeout. `body` must therefore do nothing but database work.
    public func transaction<T: Sendable>(immediate: Bool = true, _ body: @escaping @Sendable (Connection) throws -> T)
        async throws -> T
    {
        try await pool.runIfActive { [self] in
            try lock.withLock {
                try retryingWhileLocked(operation: "transaction") {
                    _ = try run(immediate ? "BEGIN IMMEDIATE" : "BEGIN", [])
                    do {
                        let result = try body(Connection(database: self))
                        _ = try run("COMMIT", [])
                        return result
                    } catch {
                        if sqlite3_get_autocommit(handle) == 0 { _ = try? run("ROLLBACK", []) }
                        throw error
                    }
                }
            }
        }
    }

    /// Runs `step` again while it fails because another connection holds the lock, pausing
    /// 1 ms, 2 ms, … up to 100 ms between tries, and gives up after ``lockTimeout`` with an
    /// error that says another process holds the database. Runs on the database pool only.
    private func retryingWhileLocked<T>(operation: String, _ step: () throws -> T) throws -> T {
        let deadline = ContinuousClock.now + lockTimeout
        var pause = Duration.milliseconds(1)
        var tries = 0
        while true {
            tries += 1
            do {
                return try step()
            } catch let error as DatabaseError where error.locked {
                guard ContinuousClock.now < deadline else { throw lockedError(operation, tries: tries) }
            }
            // A blocking pause is right here: this runs on the database thread pool, never on
            // the cooperative one. Jitter keeps two processes from retrying in lockstep.
            Thread.sleep(forTimeInterval: pause.seconds * Double.random(in: 0.5...1.5))
            pause = min(pause * 2, .milliseconds(100))
        }
    }

    private func lockedError(_ operation: String, tries: Int) -> DatabaseError {
        DatabaseError(
            database: "sqlite://\(path)", operation: operation,
            message: """
                another process has held the database's lock for longer than \(lockTimeout) (\(tries) tries); \
                find it with `fuser \(path)`, let it finish or stop it, or raise manifest.lock_timeout_seconds \
                (PIPELINE_MANIFEST_LOCK_TIMEOUT)
                """, sqlState: nil, locked: true)
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
        let code = sqlite3_extended_errcode(handle)
        let primary = code & 0xff
        return DatabaseError(
            database: "sqlite://\(path)", operation: operation, message: String(cString: sqlite3_errmsg(handle)),
            sqlState: nil, locked: primary == SQLITE_BUSY || primary == SQLITE_LOCKED)
    }
}
