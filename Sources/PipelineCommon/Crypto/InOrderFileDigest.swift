import Foundation

/// The SHA-256 of a file that is written in regions, in parallel and in any order,
/// computed front to back while the regions are still arriving.
///
/// - A write at the front (the first byte not yet hashed) is hashed from memory as it is
///   written, so a region that streams in while it is the front costs no second read.
/// - Bytes written behind a gap are hashed from the file by ``catchUp()`` once the gap
///   closes; whoever finishes a region calls it.
/// - A region written again from its start (an HTTP retry) keeps what was hashed of it, as
///   long as the bytes are the same ones (ranged GETs with `If-Match`). The region at offset
///   0 starting again resets everything: its retry may carry another version of the object.
///
/// Writers call ``appended(_:at:region:)`` right after their bytes are in the file.
/// ``catchUp()`` blocks: call it from a pool thread.
public final class InOrderFileDigest: @unchecked Sendable {
    // Everything below is guarded by `condition`; `hasher` is also used, outside the lock,
    // by the one thread whose `catchingUp` is set.
    private let condition = NSCondition()
    private var hasher = SHA256()
    /// Bytes 0..<hashed are in `hasher`.
    private var hashed: UInt64 = 0
    /// Region start → the end of what is written contiguously from it.
    private var extents: [UInt64: UInt64] = [:]
    private var catchingUp = false

    let path: String

    public init(path: String) { self.path = path }

    /// A transfer into the region that starts at `region` is (re)starting.
    func restart(region: UInt64) {
        guard region == 0 else { return }
        condition.lock()
        defer { condition.unlock() }
        while catchingUp { condition.wait() }
        hasher = SHA256()
        hashed = 0
        extents[0] = nil
    }

    /// Records `bytes` as written at `offset`, in the region that starts at `region`, and
    /// hashes them at once when they continue the front.
    func appended(_ bytes: UnsafeRawBufferPointer, at offset: UInt64, region: UInt64) {
        let end = offset + UInt64(bytes.count)
        condition.lock()
        defer { condition.unlock() }
        extents[region] = max(extents[region] ?? region, end)
        if !catchingUp, offset <= hashed, hashed < end {
            hasher.update(UnsafeRawBufferPointer(rebasing: bytes[Int(hashed - offset)...]))
            hashed = end
        }
    }

    /// Whether bytes written past the front wait for ``catchUp()``. False while another thread
    /// catches up: it goes on until nothing waits.
    var needsCatchUp: Bool {
        condition.lock()
        defer { condition.unlock() }
        return !catchingUp && backlogEnd != nil
    }

    /// The end of what is written contiguously past the front, if anything is. Under the lock.
    private var backlogEnd: UInt64? {
        let front = hashed
        return extents.first { $0.key <= front && $0.value > front }?.value
    }

    /// Hashes from the file every byte written contiguously past the front, waiting for
    /// another thread's catch-up to finish first. Returns at the first byte not written yet.
    func catchUp() throws {
        condition.lock()
        defer { condition.unlock() }
        while true {
            while catchingUp { condition.wait() }
            let front = hashed
            guard let end = backlogEnd else { return }
            catchingUp = true
            condition.unlock()
            let read = Result { try MessageDigest.update([hasher], withFileAt: path, range: front..<end) }
            condition.lock()
            catchingUp = false
            condition.broadcast()
            guard case .success(let count) = read, count == end - front else {
                if case .failure(let error) = read { throw error }
                throw CocoaError(.fileReadCorruptFile, userInfo: [NSFilePathErrorKey: path])
            }
            hashed = end
        }
    }

    /// The digest of bytes `0..<length`; nil while some of them are not hashed yet.
    public func finalize(length: UInt64) -> [UInt8]? {
        condition.lock()
        defer { condition.unlock() }
        return hashed == length && !catchingUp ? hasher.finalize() : nil
    }
}
