/// The outcome of one `pipelinectl doctor` check: which part, how it went, what was seen,
/// and what to do about it.
public struct DoctorCheck: Sendable, Codable, Equatable {
    public enum Status: String, Sendable, Codable {
        case pass
        /// Works, but not as well as it should (e.g. staging not on NVMe).
        case warn
        case fail
        /// Not configured, so not checked.
        case skip
    }

    public let part: String
    public let status: Status
    public let summary: String
    public let fix: String?

    public init(part: String, status: Status, summary: String, fix: String? = nil) {
        self.part = part
        self.status = status
        self.summary = summary
        self.fix = fix
    }
}
