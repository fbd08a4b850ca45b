import Foundation
import TestSupport
import Testing

@testable import PipelineCommon

@Suite("SQLite through the C library")
struct SQLiteDatabaseTests {
    @Test func opensAFileDatabaseInWALModeAndRoundTripsHostileValues() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.file("manifest.db")
        let database = try await SQLiteDatabase.open(path: path)
        #expect(FileManager.default.fileExists(atPath: path))
        #expect(try await database.query("PRAGMA journal_mode").first?.first == .text("wal"))
        try await database.query("CREATE TABLE items (key TEXT NOT NULL, size INTEGER, score REAL, raw BLOB)")
        let hostile = [
            "it's", #"back\slash"#, "nul\u{0}inside", "ünïcødé 🖼️", "'); DROP TABLE items; --", "",
        ]
        for (index, key) in hostile.enumerated() {
            try await database.query(
                "INSERT INTO items (key, size, score, raw) VALUES (?1, ?2, ?3, ?4)",
                [.text(key), .integer(Int64(index)), .real(Double(index) / 2), .blob([0, 1, 2, UInt8(index)])])
        }
        let rows = try await database.query("SELECT key, size, score, raw FROM items ORDER BY size")
        #expect(rows.map { $0[0] } == hostile.map { .text($0) })
        #expect(rows.last?[1] == .integer(5))
        #expect(rows.last?[2] == .real(2.5))
        #expect(rows.last?[3] == .blob([0, 1, 2, 5]))
        let missing = try await database.query("SELECT key FROM items WHERE key = ?1", [.null])
        #expect(missing.isEmpty)
    }

    @Test func reportsBadSQLWithTheDatabaseNamed() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let database = try await SQLiteDatabase.open(path: dir.file("m.db"))
        await #expect {
            try await database.query("SELECT * FROM no_such_table")
        } throws: { error in
            "\(error)".contains("no such table") && "\(error)".contains("sqlite://")
        }
    }
}
