/// Runs `body` for every index of `0..<count`, at most `limit` at a time, and returns the
/// results in index order. The first error cancels the rest and is rethrown.
public func concurrentMap<T: Sendable>(
    count: Int, limit: Int, _ body: @escaping @Sendable (Int) async throws -> T
) async throws -> [T] {
    try await withThrowingTaskGroup(of: (Int, T).self) { group in
        var results = [T?](repeating: nil, count: count)
        var next = 0
        while next < min(max(1, limit), count) {
            let index = next
            group.addTask { (index, try await body(index)) }
            next += 1
        }
        while let (index, result) = try await group.next() {
            results[index] = result
            if next < count {
                let index = next
                group.addTask { (index, try await body(index)) }
                next += 1
            }
        }
        return results.map { $0! }
    }
}

/// `transform` of every element, in order, computed in one chunk a core (on the cooperative
/// pool: CPU work only, never a blocking call) when there are at least `minimumChunk` elements
/// a core; in place below that, where handing work over would cost more than it saves.
public func concurrentChunkedMap<Element: Sendable, Result: Sendable>(
    _ elements: [Element], minimumChunk: Int = 128, _ transform: @escaping @Sendable (Element) throws -> Result
) async throws -> [Result] {
    let chunks = min(BlockingPools.coreCount, elements.count / max(1, minimumChunk))
    guard chunks > 1 else { return try elements.map(transform) }
    let size = (elements.count + chunks - 1) / chunks
    return try await concurrentMap(count: chunks, limit: chunks) { chunk in
        try elements[(chunk * size)..<min(elements.count, (chunk + 1) * size)].map(transform)
    }.flatMap { $0 }
}
