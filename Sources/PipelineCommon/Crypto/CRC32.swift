import CZlib

/// Streaming CRC-32 (ISO-HDLC, as zlib and gzip compute it), the checksum S3 keeps as
/// `x-amz-checksum-crc32`: its ``finalize()`` is the 4 bytes big-endian, as S3 encodes them.
public final class CRC32: ByteDigest {
    private var value: UInt = 0

    public init() {}

    public func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        value = crc32_z(value, base.assumingMemoryBound(to: UInt8.self), bytes.count)
    }

    public func finalize() -> [UInt8] {
        let crc = UInt32(truncatingIfNeeded: value)
        return [
            UInt8(crc >> 24), UInt8(truncatingIfNeeded: crc >> 16), UInt8(truncatingIfNeeded: crc >> 8),
            UInt8(truncatingIfNeeded: crc),
        ]
    }
}
