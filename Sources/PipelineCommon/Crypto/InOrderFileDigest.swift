import Foundation
import Synchronization

/// The SHA-256 of a file that is written in parts, in any order, computed front to back
/// while later parts are still arriving: a finished part is hashed as soon as every part
/// before it is, so little is left to hash when the last part lands. Blocking: call it
/// from a pool thread.
final class InOrderFileDigest: Sendable {
    private struct State {
        let hasher = SHA256()
        var hashed: UInt64 = 0
        /// Parts written but not yet hashed: start → end.
        var waiting: [UInt64: UInt64] = [:]
    }

    let path: String
    private let state = Mutex(State())

    init(path: String) { self.path = path }

    /// Records bytes `range` as written and hashes everything now contiguous from the front.
    func written(_ range: Range<UInt64>) throws {
        try state.withLock { state in
            state.waiting[range.lowerBound] = range.upperBound
            while let end = state.waiting.removeValue(forKey: state.hashed) {
                let read = try MessageDigest.update([state.hasher], withFileAt: path, range: state.hashed..<end)
                guard read == end - state.hashed else {
                    throw CocoaError(.fileReadCorruptFile, userInfo: [NSFilePathErrorKey: path])
                }
                state.hashed = end
            }
        }
    }

    /// The digest of bytes `0..<length`; nil while some of them are not written yet.
    func finalize(length: UInt64) -> [UInt8]? {
        state.withLock { state in state.hashed == length ? state.hasher.finalize() : nil }
    }
}
