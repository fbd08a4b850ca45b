import CCrypto
import Foundation

/// A streaming digest over libcrypto's EVP interface: feed bytes as they stream past with
/// ``update(_:)``, read the digest once with ``finalize()``. It owns a C context, so it is a
/// class used by one thread at a time. ``SHA256`` and ``MD5`` are its two uses.
public class MessageDigest {
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
}
