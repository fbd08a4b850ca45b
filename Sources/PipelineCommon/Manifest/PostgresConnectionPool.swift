import Foundation
import Logging

/// A small pool of libpq connections: at most `maxConnections` open, reused while healthy,
/// replaced when broken. Work that failed because its connection dropped is run again on a
/// fresh connection (transactions roll back with the dropped connection, so a re-run is safe).
///
/// A server that goes away after this pool has reached it (a restart, a failover) is waited
/// for: connecting is retried with a growing pause for `reconnectFor`, then the last error is
/// thrown. A server never reached (a wrong address or password) fails at once.
public actor PostgresConnectionPool {
    private let uri: Secret
    private let maxConnections: Int
    private let reconnectFor: Duration
    private var idle: [PostgresConnection] = []
    private var open = 0
    /// Tasks waiting for a connection, in arrival order, by a number of their own (so a
    /// cancelled one can be found and woken).
    private var waiters: [(id: Int, continuation: CheckedContinuation<Void, Never>)] = []
    private var nextWaiter = 0
    /// Whether a connection ever succeeded: only then is a failure to connect waited out.
    private var reached = false
    /// Since when connecting has failed, while it does.
    private var unreachableSince: ContinuousClock.Instant?
    private let logger = Logger(label: "pipeline.postgres")

    public init(uri: Secret, maxConnections: Int, reconnectFor: Duration = .seconds(300)) {
        self.uri = uri
        self.maxConnections = max(1, maxConnections)
        self.reconnectFor = reconnectFor
    }

    /// Connects, waiting out a server this pool reached before and cannot reach now.
    private func connect() async throws -> PostgresConnection {
        var pause = Duration.milliseconds(200)
        while true {
            do {
                let connection = try await PostgresConnection.connect(uri: uri)
                if let since = unreachableSince {
                    logger.notice(
                        "PostgreSQL is reachable again",
                        metadata: ["after_seconds": "\(Int((ContinuousClock.now - since).seconds))"])
                    unreachableSince = nil
                }
                reached = true
                return connection
            } catch {
                guard reached else { throw error }
                let since = unreachableSince ?? .now
                if unreachableSince == nil {
                    unreachableSince = since
                    logger.warning(
                        "PostgreSQL is unreachable; waiting for it",
                        metadata: ["error": "\(error)", "limit_seconds": "\(Int(reconnectFor.seconds))"])
                }
                guard ContinuousClock.now - since < reconnectFor else { throw error }
                try await Task.sleep(for: pause)
                pause = min(pause * 2, .seconds(5))
            }
        }
    }

    private func acquire() async throws -> PostgresConnection {
        while true {
            try Task.checkCancellation()
            if let connection = idle.popLast() {
                if connection.isHealthy { return connection }
                open -= 1
                continue
            }
            if open < maxConnections {
                open += 1
                do {
                    return try await connect()
                } catch {
                    open -= 1
                    wakeOne()
                    throw error
                }
            }
            try await waitForRelease()
        }
    }

    /// Waits until a connection is released, or throws `CancellationError` as soon as the
    /// waiting task is cancelled (it then holds no place in the queue).
    private func waitForRelease() async throws {
        nextWaiter += 1
        let id = nextWaiter
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                if Task.isCancelled {
                    continuation.resume()
                } else {
                    waiters.append((id, continuation))
                }
            }
        } onCancel: {
            Task { await self.cancelWaiter(id) }
        }
        if Task.isCancelled {
            // Woken for a released connection but no longer wanting it: pass it on.
            wakeOne()
            throw CancellationError()
        }
    }

    private func cancelWaiter(_ id: Int) {
        if let index = waiters.firstIndex(where: { $0.id == id }) { waiters.remove(at: index).continuation.resume() }
    }

    /// Tasks waiting for a connection now (for tests and diagnostics).
    public var waiting: Int { waiters.count }

    private func release(_ connection: PostgresConnection) {
        if connection.isHealthy {
            idle.append(connection)
        } else {
            open -= 1
        }
        wakeOne()
    }

    private func wakeOne() {
        if !waiters.isEmpty { waiters.removeFirst().continuation.resume() }
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
            } catch let error as DatabaseError where error.connectionLost && attempt <= 5 {
                // The server went away under this work (its transaction rolled back with the
                // connection): run it again on a new one, which waits for the server.
                release(connection)
            } catch {
                release(connection)
                throw error
            }
        }
    }
}
