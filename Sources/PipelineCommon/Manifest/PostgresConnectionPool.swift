import Foundation

/// A small pool of libpq connections: at most `maxConnections` open, reused while healthy,
/// replaced when broken. Work that failed because its connection dropped is run once more
/// on a fresh connection (transactions roll back with the dropped connection, so a re-run
/// is safe).
public actor PostgresConnectionPool {
    private let uri: Secret
    private let maxConnections: Int
    private var idle: [PostgresConnection] = []
    private var open = 0
    private var waiters: [CheckedContinuation<Void, Never>] = []

    public init(uri: Secret, maxConnections: Int) {
        self.uri = uri
        self.maxConnections = max(1, maxConnections)
    }

    private func acquire() async throws -> PostgresConnection {
        while true {
            if let connection = idle.popLast() {
                if connection.isHealthy { return connection }
                open -= 1
                continue
            }
            if open < maxConnections {
                open += 1
                do {
                    return try await PostgresConnection.connect(uri: uri)
                } catch {
                    open -= 1
                    wakeOne()
                    throw error
                }
            }
            await withCheckedContinuation { waiters.append($0) }
        }
    }

    private func release(_ connection: PostgresConnection) {
        if connection.isHealthy {
            idle.append(connection)
        } else {
            open -= 1
        }
        wakeOne()
    }

    private func wakeOne() {
        if !waiters.isEmpty { waiters.removeFirst().resume() }
    }

    /// Runs `body` with a connection of the pool.
    public func withConnection<T: Sendable>(_ body: @Sendable (PostgresConnection) async throws -> T) async throws -> T
    {
        var attempt = 0
        while true {
            attempt += 1
            let connection = try await acquire()
            do {
                let result = try await body(connection)
                release(connection)
                return result
            } catch let error as DatabaseError where error.connectionLost && attempt == 1 {
                release(connection)
            } catch {
                release(connection)
                throw error
            }
        }
    }
}
