import CCrypto
import Foundation

/// HMAC-SHA256 (RFC 2104) through libcrypto, as SigV4 signing needs it.
public enum HMACSHA256 {
    public static func authenticationCode(for message: some DataProtocol, key: some DataProtocol) -> [UInt8] {
        let keyBytes = [UInt8](key)
        let messageBytes = [UInt8](message)
        var out = [UInt8](repeating: 0, count: Int(pl_evp_max_md_size()))
        var length: UInt32 = 0
        keyBytes.withUnsafeBufferPointer { keyBuffer in
            messageBytes.withUnsafeBufferPointer { messageBuffer in
                // A null key pointer is rejected by OpenSSL 3 even with length 0.
                let keyPointer = keyBuffer.baseAddress.map(UnsafeRawPointer.init) ?? UnsafeRawPointer(bitPattern: 1)
                _ = HMAC(
                    EVP_sha256(), keyPointer, Int32(keyBytes.count),
                    messageBuffer.baseAddress, messageBytes.count, &out, &length)
            }
        }
        return Array(out.prefix(Int(length)))
    }
}
