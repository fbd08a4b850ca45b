import CCrypto
import Foundation

/// Streaming MD5, for what S3 still asks for: single-part ETags and the `Content-MD5`
/// header of DeleteObjects. Not for security.
public final class MD5: MessageDigest {
    public init() { super.init(EVP_md5(), name: "MD5") }

    public static func hash(_ data: some DataProtocol) -> [UInt8] {
        let hasher = MD5()
        hasher.update(data)
        return hasher.finalize()
    }
}
