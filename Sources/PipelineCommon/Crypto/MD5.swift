import CCrypto
import Foundation

/// Streaming MD5 through libcrypto, for what S3 still asks for: single-part ETags and the
/// `Content-MD5` header of DeleteObjects. Not for security.
public final class MD5 {
    private let context: OpaquePointer

    public init() {
        guard let context = EVP_MD_CTX_new(), EVP_DigestInit_ex(context, EVP_md5(), nil) == 1 else {
            fatalError("libcrypto could not initialise MD5; the OpenSSL installation is broken")
        }
        self.context = context
    }

    deinit { EVP_MD_CTX_free(context) }

    public func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        EVP_DigestUpdate(context, base, bytes.count)
    }

    public func update(_ data: some DataProtocol) {
        for region in data.regions { region.withUnsafeBytes { update($0) } }
    }

    public func finalize() -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: Int(pl_evp_max_md_size()))
        var length: UInt32 = 0
        EVP_DigestFinal_ex(context, &digest, &length)
        return Array(digest.prefix(Int(length)))
    }

    public static func hash(_ data: some DataProtocol) -> [UInt8] {
        let hasher = MD5()
        hasher.update(data)
        return hasher.finalize()
    }
}
