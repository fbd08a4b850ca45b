import NIOCore
import NIOPosix

/// The dedicated thread pools on which blocking C calls run, so that libcurl, libpq,
/// SQLite and libvips never block a thread of Swift's cooperative pool.
///
/// Each pool is started on first use and lives for the whole process.
public enum BlockingPools {
    /// Network transfers (libcurl). Threads mostly wait on sockets, so there are many.
    public static let network: NIOThreadPool = started(threads: 16)

    /// Database calls (libpq, SQLite).
    public static let database: NIOThreadPool = started(threads: 8)

    /// Local file I/O (copies, fsync, directory walks), which can block on a slow disk.
    public static let files: NIOThreadPool = started(threads: 8)

    /// CPU-bound work in C libraries (libvips, hashing of large files): one thread a core.
    public static let compute: NIOThreadPool = started(threads: coreCount)

    /// The cores this process may use.
    public static var coreCount: Int { System.coreCount }

    private static func started(threads: Int) -> NIOThreadPool {
        let pool = NIOThreadPool(numberOfThreads: max(1, threads))
        pool.start()
        return pool
    }
}
