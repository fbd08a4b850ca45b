import CCrypto
import Foundation

/// A digest fed bytes as they stream past, read once at the end.
public protocol ByteDigest: AnyObject {
    func update(_ bytes: UnsafeRawBufferPointer)
    /// The digest. The object must not be used afterwards.
    func finalize() -> [UInt8]
}

/// A streaming digest over libcrypto's EVP interface: feed bytes as they stream past with
/// ``update(_:)``, read the digest once with ``finalize()``. It owns a C context, so it is a
/// class used by one thread at a time. ``SHA256`` and ``MD5`` are its two uses.
public class MessageDigest: ByteDigest {
    private let context: OpaquePointer

    init(_ algorithm: OpaquePointer?, name: String) {
        guard let context = EVP_MD_CTX_new(), EVP_DigestInit_ex(context, algorithm, nil) == 1 else {
            fatalError("libcrypto could not initialise \(name); the OpenSSL installation is broken")
        }
        self.context = context
    }

    deinit { EVP_MD_CTX_free(context) }

    public func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        EVP_DigestUpdate(context, base, bytes.count)
    }

    public func update(_ data: some DataProtocol) {
        for region in data.regions {
            region.withUnsafeBytes { update($0) }
        }
    }

    /// The digest. The object must not be used afterwards.
    public func finalize() -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: Int(pl_evp_max_md_size()))
        var length: UInt32 = 0
        EVP_DigestFinal_ex(context, &digest, &length)
        return Array(digest.prefix(Int(length)))
    }

    /// Feeds every digest the bytes of the file at `path` (or of `range` in it), read once in
    /// 1 MiB chunks, and returns how many bytes there were. Throws a `CocoaError` naming the
    /// path and errno.
    @discardableResult
    public static func update(_ digests: [any ByteDigest], withFileAt path: String, range: Range<UInt64>? = nil)
        throws -> UInt64
    {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw CocoaError(
                errno == ENOENT ? .fileReadNoSuchFile : .fileReadUnknown,
                userInfo: [
                    NSFilePathErrorKey: path,
                    NSUnderlyingErrorKey: NSError(domain: NSPOSIXErrorDomain, code: Int(errno)),
                ])
        }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var total: UInt64 = 0
        let start = range?.lowerBound ?? 0
        while true {
            let wanted =
                range.map { Int(min(UInt64(buffer.count), $0.upperBound - $0.lowerBound - total)) } ?? buffer.count
            if wanted == 0 { return total }
            let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, wanted, off_t(start + total)) }
            if n < 0, errno == EINTR { continue }
            guard n >= 0 else {
                throw CocoaError(
                    .fileReadUnknown,
                    userInfo: [
                        NSFilePathErrorKey: path,
                        NSUnderlyingErrorKey: NSError(domain: NSPOSIXErrorDomain, code: Int(errno)),
                    ])
            }
            if n == 0 { return total }
            buffer.withUnsafeBytes { raw in
                for digest in digests { digest.update(UnsafeRawBufferPointer(rebasing: raw[0..<n])) }
            }
            total += UInt64(n)
        }
    }
}
