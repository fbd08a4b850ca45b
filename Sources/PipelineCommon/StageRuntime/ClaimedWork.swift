/// An item of a work queue claimed by one worker until its lease runs out.
public struct ClaimedWork: Sendable, Equatable {
    public let key: String
    public let payload: String
    /// This claim's attempt number, from 1.
    public let attempt: Int
}

/// Where an item of a work queue stands.
public enum WorkState: String, Sendable, Codable, CaseIterable {
    case available
    case claimed
    case completed
    /// Failed `maxAttempts` times; kept with its last error for inspection.
    case dead
}
