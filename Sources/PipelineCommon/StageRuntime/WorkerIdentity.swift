import Foundation

/// Who holds a claim: the host, the process id, the process's start time (clock ticks since
/// boot, from `/proc/<pid>/stat`) and its PID namespace, written as the claim's worker name
/// `<host>-<pid>-<start>-<pid namespace>`. A holder on the same host and in the same PID
/// namespace (two containers may share a host name but not their process ids) whose process
/// is gone, or whose pid now belongs to a process started at another time, is known dead: its
/// claims can come back at once instead of when their lease runs out.
public struct WorkerIdentity: Sendable, Equatable, CustomStringConvertible {
    public let host: String
    public let pid: Int32
    public let started: UInt64
    public let namespace: UInt64

    public init(host: String, pid: Int32, started: UInt64, namespace: UInt64) {
        self.host = host
        self.pid = pid
        self.started = started
        self.namespace = namespace
    }

    /// This process.
    public static let current = WorkerIdentity(
        host: ProcessInfo.processInfo.hostName, pid: getpid(), started: startTime(of: getpid()) ?? 0,
        namespace: pidNamespace() ?? 0)

    /// The worker name claims record.
    public var description: String { "\(host)-\(pid)-\(started)-\(namespace)" }

    /// Parses a worker name; nil for names of another form (given by hand, or by older workers).
    public init?(name: String) {
        let parts = name.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count >= 4, let namespace = UInt64(parts[parts.count - 1]),
            let started = UInt64(parts[parts.count - 2]), let pid = Int32(parts[parts.count - 3]), pid > 0
        else { return nil }
        let host = parts.dropLast(3).joined(separator: "-")
        guard !host.isEmpty else { return nil }
        self.init(host: host, pid: pid, started: started, namespace: namespace)
    }

    /// Whether this worker ran where this process runs (same host and PID namespace) and its
    /// process is no longer there.
    public var isKnownDead: Bool {
        let here = Self.current
        guard host == here.host, namespace == here.namespace, namespace != 0, self != here else { return false }
        return Self.startTime(of: pid) != started
    }

    /// The inode of this process's PID namespace (`/proc/self/ns/pid` reads `pid:[4026531836]`).
    static func pidNamespace() -> UInt64? {
        guard let link = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/pid"),
            let open = link.firstIndex(of: "["), let close = link.lastIndex(of: "]")
        else { return nil }
        return UInt64(link[link.index(after: open)..<close])
    }

    /// The start time of process `pid` in clock ticks since boot (field 22 of
    /// `/proc/<pid>/stat`), or nil when there is no such process.
    public static func startTime(of pid: Int32) -> UInt64? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = text.lastIndex(of: ")")
        else { return nil }
        // After the command name (which may hold spaces and parentheses): state is field 3.
        let fields = text[text.index(after: close)...].split(separator: " ")
        return fields.count > 19 ? UInt64(fields[19]) : nil
    }
}

extension ManifestStore {
    /// Expires the claims in `queue` of every worker on this host whose process is gone, so
    /// they can be claimed again now; returns those workers. Workers elsewhere keep their
    /// leases (only a lease tells whether a process on another machine is alive).
    public func releaseClaimsOfDeadLocalWorkers(queue: String) async throws -> [String] {
        var released: [String] = []
        for holder in try await claimHolders(queue: queue) {
            guard let identity = WorkerIdentity(name: holder), identity.isKnownDead else { continue }
            if try await releaseClaims(queue: queue, worker: holder) > 0 { released.append(holder) }
        }
        return released
    }
}
