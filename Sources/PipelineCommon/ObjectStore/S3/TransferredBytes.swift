import Foundation
import Logging
import NIOPosix
import Synchronization

/// Bytes of one object moved so far, for progress reports: those of the one request still
/// streaming as it goes, and those of parts as each finishes.
final class TransferredBytes: Sendable {
    private let counts = Mutex<(streaming: UInt64, parts: UInt64)>((0, 0))
    private let progress: (@Sendable (UInt64) -> Void)?

    init(_ progress: (@Sendable (UInt64) -> Void)?) { self.progress = progress }

    /// The streaming request has moved `bytes` so far.
    func streaming(_ bytes: UInt64) {
        guard let progress else { return }
        progress(
            counts.withLock {
                $0.streaming = bytes
                return $0.streaming + $0.parts
            })
    }

    /// A part of `bytes` has finished.
    func add(_ bytes: UInt64) {
        guard let progress else { return }
        progress(
            counts.withLock {
                $0.parts += bytes
                return $0.streaming + $0.parts
            })
    }
}
