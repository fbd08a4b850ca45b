extension ManifestStore {
    /// Records what a worker made of its claimed batch: `items` go into `draft` and the `done`
    /// keys are completed together; the `failed` keys go back to the queue (or to dead). When
    /// recording fails, the whole batch goes back, so nothing is half recorded.
    ///
    /// - Returns: the failures handed back, and whether `items` were recorded.
    ///
    /// `outages` are items that failed only because a service they need was unreachable (see
    /// `Outage`): they go back without using up an attempt, so an outage kills no item.
    public func recordBatch(
        items: [DatasetItem], into draft: String, queue: String, worker: String, done: [String],
        failed: [(key: String, error: String)], outages: [(key: String, error: String)] = []
    ) async throws -> (failures: [(key: String, error: String)], recorded: Bool) {
        var failures = failed
        var recorded = true
        do {
            try await addItems(items, to: draft)
            try await complete(queue: queue, worker: worker, keys: done)
        } catch {
            failures += done.map { ($0, "recording the items failed: \(error)") }
            recorded = false
        }
        if !failures.isEmpty { try await fail(queue: queue, worker: worker, failures: failures) }
        if !outages.isEmpty { try await giveBack(queue: queue, worker: worker, failures: outages) }
        return (failures + outages, recorded)
    }
}

/// Failures of a service rather than of an item: the object store unreachable (connection
/// refused, reset, timed out, DNS) or saying it is overloaded, or the staging root full. An item that fails so is given back
/// without using up an attempt; the run waits the outage out (see `SharedDraft.drain`).
public enum Outage {
    public static func isOutage(_ error: any Error) -> Bool {
        if let outage = error as? OutageCarrying { return outage.isOutage }
        if let error = error as? ObjectStoreError {
            switch error.kind {
            case .transport: return true
            case .service:
                return (500...599).contains(error.status ?? 0)
                    || ["ServiceUnavailable", "SlowDown", "InternalError", "RequestTimeout"].contains(error.code ?? "")
            default: return false
            }
        }
        if let error = error as? HTTPClientError { return error.kind.isRetryable }
        return false
    }
}

/// A stage's own failure that knows whether an outage caused it.
public protocol OutageCarrying: Error {
    var isOutage: Bool { get }
}
