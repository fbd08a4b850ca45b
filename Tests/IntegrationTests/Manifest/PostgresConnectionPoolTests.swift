import Foundation
import Synchronization
import TestSupport
import Testing

@testable import PipelineCommon

/// The connection pool against the real PostgreSQL: a waiter that is cancelled leaves at once
/// and takes no place, a connection the server dropped is replaced under the work, and a server
/// never reached fails at once (only a server reached before is waited for: `ServiceOutageTests`
/// restarts one mid-run).
@Suite(
    "PostgreSQL connection pool",
    .enabled(if: Services.available("PIPELINE_TEST_POSTGRES_URL"), Services.skipReason))
struct PostgresConnectionPoolTests {
    var uri: Secret { get throws { Secret(try Services.value("PIPELINE_TEST_POSTGRES_URL")) } }

    @Test func aCancelledWaiterLeavesAtOnceAndTheNextOneGetsTheConnection() async throws {
        let pool = PostgresConnectionPool(uri: try uri, maxConnections: 1)
        let holderStarted = Mutex(false)
        let release = AsyncStream<Void>.makeStream()
        let holder = Task {
            try await pool.withConnection { connection in
                _ = try await connection.query("SELECT 1")
                holderStarted.withLock { $0 = true }
                for await _ in release.stream { break }
                return 1
            }
        }
        while !holderStarted.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(10)) }
        let waiter = Task { try await pool.withConnection { try await $0.query("SELECT 2").values } }
        while await pool.waiting == 0 { try await Task.sleep(for: .milliseconds(10)) }
        waiter.cancel()
        // The waiter ends while the only connection is still held: it did not wait for it.
        await #expect(throws: CancellationError.self) { try await waiter.value }
        #expect(await pool.waiting == 0, "a cancelled waiter keeps no place in the queue")
        // Another waiter queued now is woken by the release, as if the cancelled one never was.
        let next = Task { try await pool.withConnection { try await $0.query("SELECT 3").values } }
        while await pool.waiting == 0 { try await Task.sleep(for: .milliseconds(10)) }
        release.continuation.yield()
        release.continuation.finish()
        #expect(try await holder.value == 1)
        #expect(try await next.value == [["3"]])
    }

    @Test func aConnectionTheServerDroppedIsReplacedUnderTheWork() async throws {
        let pool = PostgresConnectionPool(uri: try uri, maxConnections: 1)
        let pid = try await pool.withConnection { try await $0.query("SELECT pg_backend_pid()").values[0][0] ?? "" }
        // Another session ends the pool's connection, as a server restart or failover would.
        let other = try await PostgresConnection.connect(uri: try uri)
        let ended = try await other.query("SELECT pg_terminate_backend($1::int)", [pid])
        #expect(ended.values == [["t"]])
        let again = try await pool.withConnection { try await $0.query("SELECT pg_backend_pid()").values[0][0] ?? "" }
        #expect(!again.isEmpty && again != pid, "the work ran again on a new connection")
    }

    @Test func aServerNeverReachedFailsAtOnce() async throws {
        // A free port: nothing listens. Without a first success the pool does not wait (a wrong
        // address or password is a configuration error, not an outage).
        let port = try closedPort()
        let pool = PostgresConnectionPool(
            uri: Secret("postgresql://nobody:secret@127.0.0.1:\(port)/none?connect_timeout=2"), maxConnections: 1,
            reconnectFor: .seconds(3600))
        await #expect(throws: DatabaseError.self) { try await pool.withConnection { try await $0.query("SELECT 1") } }
    }
}
