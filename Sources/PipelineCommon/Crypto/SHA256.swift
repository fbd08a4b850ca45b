import CCrypto
import Foundation

/// Streaming SHA-256: content hashes, SigV4 payload hashes, manifest digests.
public final class SHA256: MessageDigest {
    public init() { super.init(EVP_sha256(), name: "SHA-256") }

    /// The digest of `data` in one call.
    public static func hash(_ data: some DataProtocol) -> [UInt8] {
        let hasher = SHA256()
        hasher.update(data)
        return hasher.finalize()
    }

    /// The digest of a file's bytes, read in 1 MiB chunks.
    public static func hash(fileAtPath path: String) throws -> [UInt8] {
        let hasher = SHA256()
        try MessageDigest.update([hasher], withFileAt: path)
        return hasher.finalize()
    }
}
