import CCrypto
import Foundation

/// RSA PKCS#1 v1.5 signature checks against an X.509 certificate's public key, through libcrypto
/// (what SNS message signatures are: SHA1withRSA and SHA256withRSA).
public enum RSASignature {
    public enum Digest: Sendable { case sha1, sha256 }

    public struct Failure: Error, Sendable, Equatable, CustomStringConvertible {
        public let description: String
    }

    /// Whether `signature` is a valid signature of `message` by the key of the PEM `certificate`.
    /// Throws when the certificate cannot be read; a wrong signature is `false`.
    public static func verify(
        _ signature: [UInt8], of message: [UInt8], certificatePEM certificate: Data, digest: Digest
    ) throws(Failure) -> Bool {
        let bytes = [UInt8](certificate)
        guard let bio = bytes.withUnsafeBufferPointer({ BIO_new_mem_buf($0.baseAddress, Int32($0.count)) }) else {
            throw Failure(description: "out of memory reading the certificate")
        }
        defer { BIO_free(bio) }
        guard let x509 = PEM_read_bio_X509(bio, nil, nil, nil) else {
            throw Failure(description: "the signing certificate is not a PEM X.509 certificate")
        }
        defer { X509_free(x509) }
        guard let key = X509_get_pubkey(x509) else {
            throw Failure(description: "the signing certificate has no usable public key")
        }
        defer { EVP_PKEY_free(key) }
        guard EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA else {
            throw Failure(description: "the signing certificate's key is not RSA")
        }
        guard let context = EVP_MD_CTX_new() else { throw Failure(description: "out of memory verifying") }
        defer { EVP_MD_CTX_free(context) }
        let md = digest == .sha1 ? EVP_sha1() : EVP_sha256()
        guard EVP_DigestVerifyInit(context, nil, md, nil, key) == 1 else {
            throw Failure(description: "libcrypto could not start verifying")
        }
        let result = signature.withUnsafeBufferPointer { signatureBuffer in
            message.withUnsafeBufferPointer { messageBuffer in
                EVP_DigestVerify(
                    context, signatureBuffer.baseAddress, signatureBuffer.count, messageBuffer.baseAddress,
                    messageBuffer.count)
            }
        }
        // Anything but 1 (0: mismatch, <0: malformed signature) leaves an error on the thread's queue.
        ERR_clear_error()
        return result == 1
    }
}
