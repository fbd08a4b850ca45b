import Foundation
import Logging
import Metrics

extension Timer {
    /// Records the time elapsed since `start` in nanoseconds, as swift-metrics timers expect.
    public func recordInterval(since start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        recordNanoseconds(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
    }
}

/// Where one item's time went, part by part (decode, resample, encode, store, record, …):
/// each part into `pipeline_stage_phase_seconds{stage, phase}`, and the whole breakdown as
/// one debug log line, so a user sees where their own images spend their time.
public struct PhaseTimes: Sendable {
    public let stage: String
    public private(set) var parts: [(phase: String, seconds: Double)] = []
    private var clock = ContinuousClock.now

    public init(stage: String) { self.stage = stage }

    /// Adds `seconds` to `phase`.
    public mutating func add(_ phase: String, _ seconds: Double) {
        if let index = parts.firstIndex(where: { $0.phase == phase }) {
            parts[index].seconds += seconds
        } else {
            parts.append((phase, seconds))
        }
    }

    /// Adds the time since the last lap (or since this value was made) to `phase`.
    public mutating func lap(_ phase: String) {
        let now = ContinuousClock.now
        add(phase, (now - clock).seconds)
        clock = now
    }

    /// Restarts the lap clock without counting the time since the last lap.
    public mutating func skip() { clock = .now }

    /// Records every part as the metric and logs the breakdown at debug level.
    public func record(_ logger: Logger, key: String) {
        for (phase, seconds) in parts {
            Timer(label: "pipeline_stage_phase_seconds", dimensions: [("stage", stage), ("phase", phase)])
                .recordNanoseconds(Int64(seconds * 1e9))
        }
        guard logger.logLevel <= .debug else { return }
        let milliseconds = parts.map { "\($0.phase)=\(String(format: "%.2f", $0.seconds * 1000))" }
        logger.debug("time by phase", metadata: ["key": "\(key)", "ms": "\(milliseconds.joined(separator: " "))"])
    }
}
