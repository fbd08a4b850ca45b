import Synchronization

/// Whether the process is ready to take work, as `/readyz` reports it.
///
/// Each component (a model, a database pool, a queue consumer) registers itself not ready
/// with a reason, and marks itself ready when it is. The process is ready when all are.
public final class ReadinessState: Sendable {
    private let components = Mutex<[String: String?]>([:])

    public init() {}

    /// Marks `component` not ready, saying why (shown by `/readyz`).
    public func markNotReady(_ component: String, reason: String) {
        components.withLock { $0[component] = .some(reason) }
    }

    public func markReady(_ component: String) {
        components.withLock { $0[component] = .some(nil) }
    }

    /// The reasons of every component not ready, sorted by component; empty when ready.
    public var notReadyReasons: [String] {
        components.withLock { entries in
            entries.compactMap { name, reason in reason.map { "\(name): \($0)" } }.sorted()
        }
    }
}
