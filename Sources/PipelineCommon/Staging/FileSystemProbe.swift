import Foundation

/// Facts about the file system under a directory: free space, the block device it sits on,
/// and how fast it takes a synced write. `pipelinectl doctor` reports these for the staging root.
public enum FileSystemProbe {
    public struct Space: Sendable {
        public let totalBytes: UInt64
        public let freeBytes: UInt64
    }

    /// Free and total bytes available to this (unprivileged) process, from statvfs.
    public static func space(at path: String) throws -> Space {
        var info = statvfs()
        guard statvfs(path, &info) == 0 else { throw FileSystemError(errno: errno, path: path) }
        let block = UInt64(info.f_frsize)
        return Space(totalBytes: UInt64(info.f_blocks) * block, freeBytes: UInt64(info.f_bavail) * block)
    }

    /// The kernel name of the block device holding `path` (its parent disk for a partition),
    /// e.g. "nvme0n1" or "vda"; nil for file systems without one (tmpfs, overlay on tmpfs).
    public static func blockDevice(of path: String) -> String? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        let major = (UInt64(info.st_dev) >> 8) & 0xfff | ((UInt64(info.st_dev) >> 32) & ~0xfff)
        let minor = UInt64(info.st_dev) & 0xff | ((UInt64(info.st_dev) >> 12) & ~0xff)
        if major == 0 {
            // Overlay and similar report an anonymous device; fall back to the mount table.
            return mountSource(of: path).flatMap { source in
                source.hasPrefix("/dev/") ? diskName(String(source.dropFirst(5))) : nil
            }
        }
        guard
            let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/sys/dev/block/\(major):\(minor)")
        else { return nil }
        return diskName(String(target.split(separator: "/").last ?? ""))
    }

    /// Whether `device` is an NVMe namespace.
    public static func isNVMe(_ device: String) -> Bool { device.hasPrefix("nvme") }

    /// Writes `bytes` to a temporary file in `directory`, fsyncs it, removes it, and returns MiB/s.
    public static func writeSpeed(in directory: String, bytes: Int = 32 << 20) throws -> Double {
        let path = directory + "/.pipeline-doctor-\(getpid()).tmp"
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw FileSystemError(errno: errno, path: path) }
        defer { close(fd); unlink(path) }
        let chunk = [UInt8](repeating: 0x5a, count: 1 << 20)
        let start = ContinuousClock.now
        var written = 0
        while written < bytes {
            let n = chunk.withUnsafeBytes { write(fd, $0.baseAddress, min($0.count, bytes - written)) }
            guard n > 0 else { throw FileSystemError(errno: errno, path: path) }
            written += n
        }
        guard fsync(fd) == 0 else { throw FileSystemError(errno: errno, path: path) }
        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return Double(bytes) / 1_048_576 / max(seconds, 1e-6)
    }

    private static func diskName(_ name: String) -> String {
        // A partition's sysfs entry has a `partition` file; its parent directory is the disk.
        let sys = "/sys/class/block/\(name)"
        if FileManager.default.fileExists(atPath: sys + "/partition"),
            let resolved = try? FileManager.default.destinationOfSymbolicLink(atPath: sys)
        {
            let parts = resolved.split(separator: "/")
            if parts.count >= 2 { return String(parts[parts.count - 2]) }
        }
        return name
    }

    private static func mountSource(of path: String) -> String? {
        guard let table = try? String(contentsOfFile: "/proc/self/mounts", encoding: .utf8) else { return nil }
        var best: (mount: String, source: String)?
        for line in table.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count >= 2 else { continue }
            let mount = String(fields[1])
            if path == mount || path.hasPrefix(mount == "/" ? "/" : mount + "/"),
                mount.count >= (best?.mount.count ?? -1)
            {
                best = (mount, String(fields[0]))
            }
        }
        return best?.source
    }
}

/// An errno with the path it happened on.
public struct FileSystemError: Error, Sendable, CustomStringConvertible {
    public let code: Int32
    public let path: String

    public init(errno code: Int32, path: String) {
        self.code = code
        self.path = path
    }

    public var description: String { "\(path): \(String(cString: strerror(code)))" }
}
