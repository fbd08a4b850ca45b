import Foundation

/// One line of a queue's ledger: a task started, or how it ended.
public struct LedgerRecord: Sendable, Codable, Equatable {
    public enum Event: String, Sendable, Codable { case started, ok, failed }

    /// Why a task failed, as the report groups failures.
    public enum FailureClass: String, Sendable, Codable, CaseIterable {
        /// The model could not be loaded (missing or damaged artifact, wrong format).
        case load
        /// The dataset does not fit the model (no labelled held-out image, no class in common).
        case schema
        /// The task process died or failed without saying why (a crash, an integration bug).
        case crash
        case timeout
    }

    public var event: Event
    public let task: String
    public let queue: String
    public let kind: TaskKind
    public var model: String
    public let dataset: String
    public let worker: String
    public let attempt: Int
    public var at: String
    public var runtimeSeconds: Double?
    public var exitStatus: Int32?
    /// The task's directory for this attempt, relative to the execution root.
    public var directory: String?
    /// The metrics file, relative to the execution root (ok records only).
    public var artifact: String?
    public var metrics: [String: Double]?
    public var failureClass: FailureClass?
    public var reason: String?
    /// Recorded by `--force-rerun`: this attempt ran although the task was done.
    public var forced: Bool?
}

/// The append-only ledger of one queue (`<execution root>/<queue>/ledger.jsonl`): one JSON
/// line per record, each appended with one write and synced before the call returns, so a
/// record is either whole or absent. Nothing is ever rewritten: a re-run appends.
public struct SprintLedger: Sendable {
    public let path: String

    public init(path: String) {
        self.path = path
    }

    public func append(_ record: LedgerRecord) throws {
        let encoder = SprintJSON.encoder()
        var line = try encoder.encode(record)
        line.append(0x0A)
        let created = !FileManager.default.fileExists(atPath: path)
        let fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw SprintError("cannot open the ledger \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        // A torn last line (a crash or a full disk mid-write) is closed first, so this record
        // starts a line of its own and only the torn one is lost.
        var last: UInt8 = 0x0A
        let size = lseek(fd, 0, SEEK_END)
        if size > 0, pread(fd, &last, 1, size - 1) == 1, last != 0x0A { line.insert(0x0A, at: line.startIndex) }
        let written = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == line.count, fsync(fd) == 0 else {
            throw SprintError("cannot append to the ledger \(path): \(String(cString: strerror(errno)))")
        }
        if created { try SprintTaskRunner.syncDirectory(of: path) }
    }

    /// Every whole record, in order; a torn last line (a crash mid-write) is skipped.
    public func records() throws -> [LedgerRecord] {
        guard FileManager.default.fileExists(atPath: path) else { return [] }
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let decoder = SprintJSON.decoder
        return data.split(separator: 0x0A).compactMap { try? decoder.decode(LedgerRecord.self, from: Data($0)) }
    }

    /// The last completion (ok or failed) of each task.
    public static func latestCompletions(_ records: [LedgerRecord]) -> [String: LedgerRecord] {
        var latest: [String: LedgerRecord] = [:]
        for record in records where record.event != .started { latest[record.task] = record }
        return latest
    }
}
