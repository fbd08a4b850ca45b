import Foundation

/// A one-line progress report on standard error, redrawn at most five times a second, and
/// only when standard error is a terminal (logs and CI output stay clean).
public final class ProgressLine: @unchecked Sendable {
    // `lock` guards every mutable field; updates come from any thread.
    private let lock = NSLock()
    private let enabled: Bool
    private let start = ContinuousClock.now
    private var lastPrint: ContinuousClock.Instant?
    private var printed = false

    public init(enabled: Bool = isatty(STDERR_FILENO) == 1) {
        self.enabled = enabled
    }

    /// Redraws the line with `render(seconds since start)` unless it was drawn under 0.2 s
    /// ago; `force` draws anyway (the last update).
    public func show(force: Bool = false, _ render: (_ seconds: Double) -> String) {
        guard enabled else { return }
        lock.lock()
        defer { lock.unlock() }
        let now = ContinuousClock.now
        if !force, let lastPrint, now - lastPrint < .milliseconds(200) { return }
        lastPrint = now
        printed = true
        let seconds = max((now - start).seconds, 0.001)
        FileHandle.standardError.write(Data(("\r  " + render(seconds) + "\u{1B}[K").utf8))
    }

    /// Ends the line, if one was drawn.
    public func finish() {
        lock.lock()
        defer { lock.unlock() }
        if printed { FileHandle.standardError.write(Data("\n".utf8)) }
        printed = false
    }
}
