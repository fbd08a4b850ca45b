extension ManifestStore {
    /// Records what a worker made of its claimed batch: `items` go into `draft` and the `done`
    /// keys are completed together; the `failed` keys go back to the queue (or to dead). When
    /// recording fails, the whole batch goes back, so nothing is half recorded.
    ///
    /// - Returns: the failures handed back, and whether `items` were recorded.
    public func recordBatch(
        items: [DatasetItem], into draft: String, queue: String, worker: String, done: [String],
        failed: [(key: String, error: String)]
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
        return (failures, recorded)
    }
}
