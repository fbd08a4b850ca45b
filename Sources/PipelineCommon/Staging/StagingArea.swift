import Foundation
import Logging
import Metrics
import NIOPosix

/// The local scratch space (NVMe) every stage moves its bytes through:
/// `<root>/<stage>/<run-id>/{in,out}/…`.
public struct StagingArea: Sendable {
    public let root: String
    /// Free space always left on the file system.
    public let reserveBytes: UInt64
    /// Keep a failed run's directory for inspection (`--keep-staging`).
    public let keepOnFailure: Bool
    private let logger: Logger

    public init(root: String, reserveBytes: UInt64, keepOnFailure: Bool, logger: Logger) {
        self.root = root.count > 1 && root.hasSuffix("/") ? String(root.dropLast()) : root
        self.reserveBytes = reserveBytes
        self.keepOnFailure = keepOnFailure
        self.logger = logger
    }

    public init(_ settings: PipelineConfiguration.Staging, logger: Logger) {
        self.init(
            root: settings.root, reserveBytes: settings.reserveBytes, keepOnFailure: settings.keepOnFailure,
            logger: logger)
    }

    /// Checks, before any work, that the root is a directory that takes writes (creating it when
    /// it can), so a stage whose staging volume is missing or read-only stops at start, saying
    /// so, rather than halfway through its first batch.
    public func checkWritable() throws(StagingError) {
        let remedy =
            "mount a writable volume there (in a container: -v VOLUME:\(root)) or set staging.root (PIPELINE_STAGING_ROOT)"
        var isDirectory: ObjCBool = false
        if !FileManager.default.fileExists(atPath: root, isDirectory: &isDirectory) {
            do {
                try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
            } catch {
                throw StagingError(
                    kind: .io,
                    message:
                        "staging root \(root) does not exist and cannot be created (\(error.localizedDescription)); \(remedy)"
                )
            }
        } else if !isDirectory.boolValue {
            throw StagingError(kind: .io, message: "staging root \(root) is not a directory; \(remedy)")
        }
        let probe = "\(root)/.write-probe-\(getpid())"
        let descriptor = open(probe, O_CREAT | O_WRONLY | O_EXCL, 0o600)
        guard descriptor >= 0 else {
            let code = errno
            let why =
                switch code {
                case EROFS: "is on a read-only file system"
                case EACCES, EPERM: "is not writable by user \(getuid())"
                default: "cannot be written (\(String(cString: strerror(code))))"
                }
            throw StagingError(kind: .io, message: "staging root \(root) \(why); \(remedy)")
        }
        close(descriptor)
        unlink(probe)
    }

    /// Creates `<root>/<stage>/<run-id>/{in,out}`.
    public func makeRun(stage: String, runId: String) throws -> StagingRun {
        for (name, value) in [("stage", stage), ("run id", runId)] {
            if value.isEmpty || value.contains("/") || value == "." || value == ".." || value.utf8.contains(0)
                || value.utf8.count > ObjectKey.maxSegmentLength
            {
                throw StagingError(kind: .unsafeKey, message: "\(name) \"\(value)\" cannot be a directory name")
            }
        }
        let directory = "\(root)/\(stage)/\(runId)"
        let run = StagingRun(
            stage: stage, runId: runId, directory: directory, reserveBytes: reserveBytes, keepOnFailure: keepOnFailure,
            logger: logger)
        do {
            for side in [run.inputDirectory, run.outputDirectory] {
                try FileManager.default.createDirectory(atPath: side, withIntermediateDirectories: true)
            }
        } catch {
            throw StagingError(
                kind: .io,
                message:
                    "cannot create staging directory \(directory): \(error.localizedDescription); create \(root) or set PIPELINE_STAGING_ROOT"
            )
        }
        return run
    }
}

extension StagingArea {
    /// Runs `body` in a new staging run and ends the run after it: removed when `body`
    /// returned, kept for inspection when it threw and `keepOnFailure` is set.
    public func withRun<T: Sendable>(
        stage: String, runId: String, _ body: (StagingRun) async throws -> T
    ) async throws -> T {
        let run = try makeRun(stage: stage, runId: runId)
        let value: T
        do {
            value = try await body(run)
        } catch {
            await run.finish(succeeded: false)
            throw error
        }
        await run.finish(succeeded: true)
        return value
    }
}

/// One stage run's staging directory.
public struct StagingRun: Sendable {
    public enum Side: Sendable { case input, output }

    public let stage: String
    public let runId: String
    public let directory: String
    public let reserveBytes: UInt64
    public let keepOnFailure: Bool
    private let logger: Logger

    public var inputDirectory: String { directory + "/in" }
    public var outputDirectory: String { directory + "/out" }

    /// Suffix of files still being written; such a file is never a complete one.
    public static let partialSuffix = ".partial"

    init(stage: String, runId: String, directory: String, reserveBytes: UInt64, keepOnFailure: Bool, logger: Logger) {
        self.stage = stage
        self.runId = runId
        self.directory = directory
        self.reserveBytes = reserveBytes
        self.keepOnFailure = keepOnFailure
        self.logger = logger
    }

    /// The local path for `key`, which can never be outside this run's `side` directory:
    /// empty, absolute, `.`/`..`, `//`, NUL and over-long keys are refused.
    public func path(for key: String, in side: Side = .input) throws -> String {
        if let problem = ObjectKey.pathProblem(key) {
            throw StagingError(
                kind: .unsafeKey, message: "object key \"\(Self.printable(key))\" cannot be staged: \(problem)")
        }
        if key.hasSuffix(Self.partialSuffix) {
            throw StagingError(
                kind: .unsafeKey,
                message: "object key \"\(key)\" ends with \(Self.partialSuffix), reserved for partial files")
        }
        let base = side == .input ? inputDirectory : outputDirectory
        // The key has no '.', '..' or empty segment and is not absolute (checked above), so
        // the path stays under `base` as written; resolving it (standardizingPath reads every
        // component's link) would cost a dozen system calls a file and refuse a staging root
        // reached through a symbolic link.
        let path = base + "/" + key
        guard path.utf8.count < Int(PATH_MAX) - Self.partialSuffix.count else {
            throw StagingError(
                kind: .unsafeKey, message: "object key \"\(Self.printable(key))\" makes a path too long under \(base)")
        }
        return path
    }

    /// Fails, before anything is written, when `bytes` more would eat into the reserve.
    public func ensureSpace(for bytes: UInt64) throws {
        let space: FileSystemProbe.Space
        do {
            space = try FileSystemProbe.space(at: directory)
        } catch {
            throw StagingError(kind: .io, message: "cannot measure free space of \(directory): \(error)")
        }
        Gauge(label: "pipeline_staging_free_bytes", dimensions: [("stage", stage)]).record(Double(space.freeBytes))
        let usable = space.freeBytes > reserveBytes ? space.freeBytes - reserveBytes : 0
        guard bytes <= usable else {
            throw StagingError(
                kind: .insufficientSpace,
                message:
                    "staging needs \(Self.mib(bytes)) but \(directory) has \(Self.mib(space.freeBytes)) free, of which \(Self.mib(reserveBytes)) is reserved; free space, lower staging.reserve_mib, or stage fewer objects at once"
            )
        }
    }

    /// Downloads `key` to its input path through `<path>.partial`: the bytes are hashed as
    /// they arrive, fsynced, checked against `expectedSize` / `expectedSHA256` (and the
    /// store's own record), and only then renamed into place. On any mismatch the partial
    /// file is removed and nothing appears at the final path.
    public func stage(
        _ key: String, from store: any ObjectStore, expectedSize: UInt64? = nil, expectedSHA256: String? = nil
    ) async throws -> StagedFile {
        try await stage(key, listed: nil, from: store, expectedSize: expectedSize, expectedSHA256: expectedSHA256)
    }

    /// Stages `listed` as the listing described it: the store plans the download from its
    /// size and pins its ETag, and a changed object fails with `.integrity` (list it again).
    public func stage(_ listed: ObjectInfo, from store: any ObjectStore) async throws -> StagedFile {
        try await stage(
            listed.key, listed: listed, from: store, expectedSize: listed.size, expectedSHA256: listed.sha256)
    }

    private func stage(
        _ key: String, listed: ObjectInfo?, from store: any ObjectStore, expectedSize: UInt64?,
        expectedSHA256: String?
    ) async throws -> StagedFile {
        let path = try path(for: key, in: .input)
        let partial = path + Self.partialSuffix
        try createParent(of: path)
        let started = ContinuousClock.now
        let result: DownloadResult
        do {
            if let listed {
                result = try await store.get(listed, to: partial)
            } else {
                result = try await store.get(key, to: partial)
            }
        } catch {
            unlink(partial)
            if let storeError = error as? ObjectStoreError, storeError.kind == .integrity {
                throw StagingError(kind: .integrity, message: "\(storeError)")
            }
            throw error
        }
        if let expectedSize, expectedSize != result.bytesWritten {
            unlink(partial)
            throw StagingError(
                kind: .integrity,
                message: "\(key): expected \(expectedSize) bytes, received \(result.bytesWritten); not staged")
        }
        do {
            try Self.check(key, sha256: result.sha256, expected: expectedSHA256)
        } catch {
            unlink(partial)
            throw error
        }
        guard rename(partial, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(partial)
            throw StagingError(kind: .io, message: "cannot move \(partial) into place: \(reason)")
        }
        count(staged: Int(result.bytesWritten), since: started)
        return StagedFile(key: key, path: path, size: result.bytesWritten, sha256: result.sha256)
    }

    /// Refuses bytes whose SHA-256 is not the one expected, if one was.
    private static func check(_ key: String, sha256: String, expected: String?) throws(StagingError) {
        if let expected, expected.lowercased() != sha256 {
            throw StagingError(
                kind: .integrity,
                message: "\(key): expected SHA-256 \(expected), received bytes hash to \(sha256); not staged")
        }
    }

    /// The metrics of one staged object.
    private func count(staged bytes: Int, since started: ContinuousClock.Instant) {
        Counter(label: "pipeline_staging_bytes_total", dimensions: [("stage", stage)]).increment(by: bytes)
        Timer(label: "pipeline_staging_duration_seconds", dimensions: [("stage", stage)]).recordInterval(since: started)
    }

    /// Images up to this size are staged in memory by ``stageImage(_:from:size:expectedSHA256:inMemory:)``.
    public static let memoryLimit = 32 << 20
    /// What a batch of images staged at once may hold in memory together; a larger batch is
    /// staged as files.
    public static let batchMemoryBudget: UInt64 = 256 << 20

    /// Stages an image for libvips, verified as ``stage(_:from:expectedSize:expectedSHA256:)``
    /// verifies a file: in memory when `size` (as listed or recorded) is at most ``memoryLimit``
    /// bytes (no file created, synced and deleted per image: on a file system that deletes
    /// thousands of files a second, each new file costs more than the image's decode), else, or
    /// when the object has grown past the limit since, or when `inMemory` is false, as a file.
    /// Bytes of a format libvips reads from files only are written to the key's staging path
    /// (unsynced) once they are in memory (``ImageInput/staged(_:at:)``); a failed write is a
    /// ``StagingError`` of kind `.io`, not the image's fault.
    public func stageImage(
        _ key: String, from store: any ObjectStore, size: UInt64?, expectedSHA256: String?, inMemory: Bool = true
    ) async throws -> StagedImage {
        func staged() async throws -> StagedImage {
            let file = try await stage(key, from: store, expectedSHA256: expectedSHA256)
            return StagedImage(key: key, size: file.size, sha256: file.sha256, input: .file(file.path))
        }
        guard inMemory, let size, size <= UInt64(Self.memoryLimit) else { return try await staged() }
        let spill = try path(for: key, in: .input)
        let started = ContinuousClock.now
        let fetched: FetchedObject
        do {
            fetched = try await store.data(key, limit: Self.memoryLimit)
        } catch let storeError as ObjectStoreError where storeError.code == ObjectStoreError.tooLargeForMemory {
            return try await staged()
        } catch let storeError as ObjectStoreError where storeError.kind == .integrity {
            throw StagingError(kind: .integrity, message: "\(storeError)")
        }
        try Self.check(key, sha256: fetched.sha256, expected: expectedSHA256)
        // A format libvips reads from files only is written out here, once: a failed write is
        // this staging's error (the disk), not the image's.
        let input: ImageInput
        do {
            input = try await BlockingPools.files.runIfActive { try ImageInput.staged(fetched.bytes, at: spill) }
        } catch let error where !(error is CancellationError) {
            throw StagingError(
                kind: .io,
                message:
                    "cannot write \(spill) for libvips to read \(key): \(error); check the free space and permissions under staging.root (\(directory))"
            )
        }
        count(staged: fetched.bytes.count, since: started)
        return StagedImage(key: key, size: UInt64(fetched.bytes.count), sha256: fetched.sha256, input: input)
    }

    /// Stages a batch after checking, once, that all of it fits; `concurrency` downloads at once.
    public func stage(_ objects: [ObjectInfo], from store: any ObjectStore, concurrency: Int = 8) async throws
        -> [StagedFile]
    {
        try ensureSpace(for: objects.reduce(0) { $0 + $1.size })
        return try await concurrentMap(count: objects.count, limit: concurrency) { index in
            let object = objects[index]
            return try await stage(object, from: store)
        }
    }

    /// Ends the run: the directory is removed after success, and after failure unless
    /// `keepOnFailure`, in which case its path is logged for inspection. The tree is removed on
    /// the file pool, never on a thread of the cooperative pool.
    public func finish(succeeded: Bool) async {
        if !succeeded, keepOnFailure {
            logger.notice("kept staging directory of failed run", metadata: ["path": "\(directory)"])
            return
        }
        let directory = self.directory
        do {
            try await BlockingPools.files.runIfActive { try FileManager.default.removeItem(atPath: directory) }
        } catch {
            logger.warning(
                "could not remove staging directory", metadata: ["path": "\(directory)", "error": "\(error)"])
        }
    }

    private func createParent(of path: String) throws {
        let parent = (path as NSString).deletingLastPathComponent
        do {
            try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
        } catch {
            throw StagingError(kind: .io, message: "cannot create \(parent): \(error.localizedDescription)")
        }
    }

    static func mib(_ bytes: UInt64) -> String { "\(bytes >> 20) MiB" }

    /// Control characters (NUL included) shown escaped, so a hostile key cannot garble a log line.
    static func printable(_ key: String) -> String {
        key.unicodeScalars.map {
            $0.value < 0x20 || $0.value == 0x7f ? "\\u{\(String($0.value, radix: 16))}" : String($0)
        }
        .joined()
    }
}
