import Foundation
import Synchronization
import Testing

@testable import PipelineCommon

@Suite("Concurrent maps: results in order, errors passed on")
struct ConcurrentMapTests {
    @Test func aChunkedMapKeepsTheOrderAtEverySize() async throws {
        for count in [0, 1, 127, 128, 255, 256, 257, 1_000, 10_001] {
            let elements = Array(0..<count)
            let mapped = try await concurrentChunkedMap(elements) { $0 * 3 + 1 }
            #expect(mapped == elements.map { $0 * 3 + 1 }, "\(count) elements")
        }
    }

    @Test func aChunkedMapBelowTwoChunksOfWorkRunsInPlaceInOrder() async throws {
        let calls = Mutex<[(value: Int, thread: Int)]>([])
        // Below two chunks' worth: one pass, in order, on one thread. The first call waits a
        // moment (20 ms), so that a second chunk, had the map made one, would have run meanwhile:
        // on another thread, or at least out of order.
        _ = try await concurrentChunkedMap(Array(0..<100), minimumChunk: 64) { value in
            if value == 0 { usleep(20_000) }
            calls.withLock { $0.append((value, Int(bitPattern: pthread_self()))) }
        }
        let recorded = calls.withLock { $0 }
        #expect(recorded.map(\.value) == Array(0..<100))
        #expect(Set(recorded.map(\.thread)).count == 1, "one thread")
    }

    @Test func aChunkedMapPassesTheFirstErrorOn() async throws {
        struct Odd: Error {}
        await #expect(throws: Odd.self) {
            _ = try await concurrentChunkedMap(Array(0..<1_000)) { value in
                if value == 777 { throw Odd() }
                return value
            }
        }
    }
}
