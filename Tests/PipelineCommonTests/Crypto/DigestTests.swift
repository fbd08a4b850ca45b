import Foundation
import TestSupport
import Testing

@testable import PipelineCommon

@Suite("SHA-256 and HMAC-SHA256 through libcrypto")
struct DigestTests {
    // FIPS 180-2 / NIST CSRC example vectors.
    @Test(arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        (
            "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        ),
        (
            "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
            "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"
        ),
    ])
    func sha256MatchesNIST(message: String, digest: String) {
        #expect(Hex.encode(SHA256.hash(Data(message.utf8))) == digest)
    }

    @Test func sha256OfOneMillionAs() {
        // Fed in uneven chunks, as bytes arrive from a network stream.
        let hasher = SHA256()
        var remaining = 1_000_000
        var chunk = 1
        while remaining > 0 {
            let n = min(chunk, remaining)
            hasher.update(Data(repeating: UInt8(ascii: "a"), count: n))
            remaining -= n
            chunk = chunk * 3 % 65_537 + 1
        }
        #expect(Hex.encode(hasher.finalize()) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test func sha256OfAFile() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = try dir.write("abc.txt", "abc")
        #expect(
            Hex.encode(try SHA256.hash(fileAtPath: path))
                == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    // RFC 4231 test cases 1-7 (HMAC-SHA-256).
    @Test(arguments: [
        (
            String(repeating: "0b", count: 20), Hex.encode(Array("Hi There".utf8)),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        ),
        (
            Hex.encode(Array("Jefe".utf8)), Hex.encode(Array("what do ya want for nothing?".utf8)),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        ),
        (
            String(repeating: "aa", count: 20), String(repeating: "dd", count: 50),
            "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"
        ),
        (
            "0102030405060708090a0b0c0d0e0f10111213141516171819", String(repeating: "cd", count: 50),
            "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"
        ),
        (
            String(repeating: "aa", count: 131),
            Hex.encode(Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8)),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        ),
        (
            String(repeating: "aa", count: 131),
            Hex.encode(
                Array(
                    "This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm."
                        .utf8)),
            "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"
        ),
    ])
    func hmacMatchesRFC4231(keyHex: String, messageHex: String, mac: String) {
        let key = Hex.decode(keyHex)!
        let message = Hex.decode(messageHex)!
        #expect(Hex.encode(HMACSHA256.authenticationCode(for: message, key: key)) == mac)
    }

    @Test func hmacTruncatedTo128BitsMatchesRFC4231Case5() {
        let key = [UInt8](repeating: 0x0c, count: 20)
        let mac = HMACSHA256.authenticationCode(for: Array("Test With Truncation".utf8), key: key)
        #expect(Hex.encode(mac.prefix(16)) == "a3b6167473100ee06e0c796c2955552b")
    }

    @Test func hexRoundTrips() {
        #expect(Hex.decode("00ff10Ab") == [0x00, 0xff, 0x10, 0xab])
        #expect(Hex.decode("abc") == nil)
        #expect(Hex.decode("zz") == nil)
        #expect(Hex.encode([0xde, 0xad, 0xbe, 0xef]) == "deadbeef")
    }

    @Test func aFileWrittenInPartsOutOfOrderHashesAsAWhole() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.file("parts.bin")
        let data = Data((0..<(3 << 20) + 777).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 13) })
        try data.write(to: URL(fileURLWithPath: path))
        let digest = InOrderFileDigest(path: path)
        let size = UInt64(data.count)
        func write(_ range: Range<Int>, region: Int) {
            data[range].withUnsafeBytes { digest.appended($0, at: UInt64(range.lowerBound), region: UInt64(region)) }
        }
        // The parts behind the front land first: they wait in the file.
        write(2 << 20..<(2 << 20) + 1000, region: 2 << 20)
        write((2 << 20) + 1000..<Int(size), region: 2 << 20)
        write(1 << 20..<2 << 20, region: 1 << 20)
        try digest.catchUp()
        #expect(digest.finalize(length: size) == nil, "the front part is not written yet")
        // The front part streams in and is hashed as it comes; then the gap behind it closes.
        write(0..<4096, region: 0)
        write(4096..<1 << 20, region: 0)
        #expect(digest.finalize(length: size) == nil, "the parts behind the front are not caught up yet")
        try digest.catchUp()
        #expect(digest.finalize(length: size) == SHA256.hash(data))
        // A ranged read of the same file agrees with hashing the bytes in memory.
        let middle = SHA256()
        #expect(try MessageDigest.update([middle], withFileAt: path, range: 1000..<2_000_000) == 1_999_000)
        #expect(middle.finalize() == SHA256.hash(data[1000..<2_000_000]))
    }

    @Test func aRetriedRegionKeepsWhatItHashedButARetriedFrontStartsOver() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.file("retried.bin")
        let data = Data((0..<(2 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 40503 >> 7) })
        try data.write(to: URL(fileURLWithPath: path))
        let digest = InOrderFileDigest(path: path)
        func write(_ bytes: Data, at offset: Int, region: Int) {
            bytes.withUnsafeBytes { digest.appended($0, at: UInt64(offset), region: UInt64(region)) }
        }
        // A first attempt at the front brought another version of the object, then failed.
        write(Data(repeating: 0xEE, count: 5000), at: 0, region: 0)
        digest.restart(region: 0)
        write(data[0..<(1 << 20)], at: 0, region: 0)
        // The second part is sent twice from its start (ranged GETs with If-Match: the same bytes).
        write(data[(1 << 20)..<(1 << 20) + 300_000], at: 1 << 20, region: 1 << 20)
        digest.restart(region: 1 << 20)
        write(data[(1 << 20)...], at: 1 << 20, region: 1 << 20)
        try digest.catchUp()
        #expect(digest.finalize(length: UInt64(data.count)) == SHA256.hash(data))
    }

    @Test func crc32IsTheChecksumS3Keeps() throws {
        // The CRC-32 check value (ISO-HDLC) and S3's base64 of its 4 big-endian bytes.
        let crc = CRC32()
        Data("1234".utf8).withUnsafeBytes { crc.update($0) }
        Data("56789".utf8).withUnsafeBytes { crc.update($0) }
        #expect(crc.finalize() == [0xCB, 0xF4, 0x39, 0x26])
        #expect(Data(CRC32().finalize()).base64EncodedString() == "AAAAAA==")
    }
}
