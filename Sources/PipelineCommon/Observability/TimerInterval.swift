import Metrics

extension Timer {
    /// Records the time elapsed since `start` in nanoseconds, as swift-metrics timers expect.
    public func recordInterval(since start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        recordNanoseconds(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
    }
}
