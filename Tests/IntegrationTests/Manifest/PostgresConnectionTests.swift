import Foundation
import Testing

@testable import PipelineCommon

@Suite(
    "libpq against the real PostgreSQL from services.sh",
    .enabled(if: Services.available("PIPELINE_TEST_POSTGRES_URL"), Services.skipReason))
struct PostgresConnectionTests {
    func connect() async throws -> PostgresConnection {
        try await PostgresConnection.connect(uri: Secret(try Services.value("PIPELINE_TEST_POSTGRES_URL")))
    }

    @Test func runsAParameterisedQuery() async throws {
        let connection = try await connect()
        let rows = try await connection.query(
            "SELECT $1::int + $2::int AS sum, $3::text AS label, $4::text IS NULL AS missing",
            ["40", "2", "answer", nil])
        #expect(rows.columns == ["sum", "label", "missing"])
        #expect(rows.values == [["42", "answer", "t"]])
        #expect(try await connection.serverVersion().hasPrefix("PostgreSQL"))
    }

    @Test func hostileValuesRoundTripUnchanged() async throws {
        let connection = try await connect()
        let table = "hostile_\(UUID().uuidString.prefix(8).lowercased())"
        try await connection.query("CREATE TEMP TABLE \(table) (id serial, key text)")
        // PostgreSQL text cannot hold NUL; everything else must come back byte for byte.
        let hostile = ["it's", #"back\slash"#, "\"quoted\"", "ünïcødé 🖼️", "'); DROP TABLE \(table); --", "$1", ""]
        for key in hostile {
            let inserted = try await connection.query("INSERT INTO \(table) (key) VALUES ($1)", [key])
            #expect(inserted.affected == 1)
        }
        let rows = try await connection.query("SELECT key FROM \(table) ORDER BY id")
        #expect(rows.values.map { $0[0] } == hostile.map { Optional($0) })
    }

    @Test func reportsSQLErrorsWithTheirState() async throws {
        let connection = try await connect()
        await #expect {
            try await connection.query("SELECT * FROM no_such_table_here")
        } throws: { error in
            (error as? DatabaseError)?.sqlState == "42P01"
        }
    }

    @Test func aWrongPasswordIsRejectedWithoutShowingIt() async throws {
        let url = try Services.value("PIPELINE_TEST_POSTGRES_URL")
        guard var components = URLComponents(string: url) else { return }
        components.password = "definitely-wrong-password"
        await #expect {
            _ = try await PostgresConnection.connect(uri: Secret(components.string!))
        } throws: { error in
            let text = "\(error)"
            return text.contains("password authentication failed") && !text.contains("definitely-wrong-password")
                && text.contains("<redacted>")
        }
    }
}
