import Foundation

/// Real image files made by the `vips` command-line tool (Debian's libvips-tools), and the
/// bad files ingest must reject, damaged by hand from real ones.
public enum TestImages {
    public struct ToolFailure: Error, CustomStringConvertible {
        public let description: String
    }

    public static func vips(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/vips")
        process.arguments = arguments
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw ToolFailure(description: "vips \(arguments) failed") }
    }

    /// A 3-band gradient, so encoders have real content to compress; the format follows the
    /// name's suffix. `seed` shifts the colours so that different seeds give different bytes.
    @discardableResult
    public static func photo(
        _ dir: TemporaryDirectory, _ name: String, width: Int = 96, height: Int = 64, seed: Int = 0
    )
        throws -> String
    {
        let stem = name.replacingOccurrences(of: "/", with: "_")
        let base = dir.file("base-\(stem).v")
        try vips(["xyz", base, "\(width)", "\(height)"])
        let three = dir.file("three-\(stem).v")
        try vips(["bandjoin_const", base, three, "\(128 + seed % 100)"])
        let cast = dir.file("cast-\(stem).v")
        try vips(["cast", three, cast, "uchar"])
        let path = dir.file(name)
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try vips(["copy", cast, path])
        for file in [base, three, cast] { try? FileManager.default.removeItem(atPath: file) }
        return path
    }

    /// The first half of a real JPEG.
    public static func truncatedJPEG(_ dir: TemporaryDirectory, _ name: String) throws -> String {
        let jpeg = try Data(contentsOf: URL(fileURLWithPath: try photo(dir, "whole-\(name)", width: 400, height: 300)))
        try jpeg.prefix(jpeg.count / 2).write(to: URL(fileURLWithPath: dir.file(name)))
        return dir.file(name)
    }

    /// A PNG whose compressed data is damaged: its IDAT CRC no longer matches.
    public static func corruptPNG(_ dir: TemporaryDirectory, _ name: String) throws -> String {
        var png = try Data(contentsOf: URL(fileURLWithPath: try photo(dir, "whole-\(name)", width: 200, height: 200)))
        guard let idat = png.firstRange(of: Data("IDAT".utf8)) else { throw ToolFailure(description: "no IDAT") }
        for offset in (idat.upperBound + 10)..<(idat.upperBound + 40) { png[offset] ^= 0x5a }
        try png.write(to: URL(fileURLWithPath: dir.file(name)))
        return dir.file(name)
    }

    /// A small valid PNG whose header is rewritten to declare `side` × `side` pixels.
    public static func bombPNG(_ dir: TemporaryDirectory, _ name: String, side: UInt32 = 50_000) throws -> String {
        var png = try Data(contentsOf: URL(fileURLWithPath: try photo(dir, "small-\(name)", width: 8, height: 8)))
        guard let ihdr = png.firstRange(of: Data("IHDR".utf8)) else { throw ToolFailure(description: "no IHDR") }
        let fields = ihdr.upperBound
        for (index, byte) in [side, side].flatMap({ withUnsafeBytes(of: $0.bigEndian, Array.init) }).enumerated() {
            png[fields + index] = byte
        }
        let crc = crc32(png[ihdr.lowerBound..<(fields + 13)])
        for (index, byte) in withUnsafeBytes(of: crc.bigEndian, Array.init).enumerated() {
            png[fields + 13 + index] = byte
        }
        try png.write(to: URL(fileURLWithPath: dir.file(name)))
        return dir.file(name)
    }

    /// A CMYK JPEG.
    public static func cmykJPEG(_ dir: TemporaryDirectory, _ name: String) throws -> String {
        let source = try photo(dir, "rgb-\(name).v", width: 60, height: 40)
        try vips(["colourspace", source, dir.file(name), "cmyk"])
        return dir.file(name)
    }

    /// A 16-bit RGB PNG.
    public static func sixteenBitPNG(_ dir: TemporaryDirectory, _ name: String) throws -> String {
        let source = try photo(dir, "rgb-\(name).v", width: 60, height: 40)
        try vips(["colourspace", source, dir.file("rgb16-\(name).v"), "rgb16"])
        try vips(["copy", dir.file("rgb16-\(name).v"), dir.file(name)])
        return dir.file(name)
    }

    /// A `width` × `height` JPEG with an EXIF APP1 segment saying "rotate 90° clockwise"
    /// (orientation 6): it displays as `height` × `width`.
    public static func exifRotatedJPEG(_ dir: TemporaryDirectory, _ name: String, width: Int = 60, height: Int = 40)
        throws -> String
    {
        let jpeg = try Data(
            contentsOf: URL(fileURLWithPath: try photo(dir, "plain-\(name)", width: width, height: height)))
        var tiff: [UInt8] = Array("II".utf8) + [42, 0, 8, 0, 0, 0]  // little-endian TIFF header, IFD at 8
        tiff += [1, 0]  // one entry
        tiff += [0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0]  // Orientation, SHORT, count 1, value 6
        tiff += [0, 0, 0, 0]  // no next IFD
        let payload = Array("Exif".utf8) + [0, 0] + tiff
        let length = UInt16(payload.count + 2)
        var rotated = Data(jpeg.prefix(2))
        rotated.append(contentsOf: [0xFF, 0xE1, UInt8(length >> 8), UInt8(length & 0xff)] + payload)
        rotated.append(jpeg.dropFirst(2))
        try rotated.write(to: URL(fileURLWithPath: dir.file(name)))
        return dir.file(name)
    }

    public static func crc32(_ bytes: Data) -> UInt32 {
        var crc: UInt32 = 0xffff_ffff
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xedb8_8320 : crc >> 1 }
        }
        return ~crc
    }

    /// Real photographs from scikit-image's wheel, unpacked by `scripts/services.sh install`
    /// into the directory `PIPELINE_TEST_SAMPLE_IMAGES` names (also in the services env file).
    public static func samplePhotographs(settings: [String: String]) -> [String] {
        let directory =
            ProcessInfo.processInfo.environment["PIPELINE_TEST_SAMPLE_IMAGES"]
            ?? settings["PIPELINE_TEST_SAMPLE_IMAGES"] ?? ""
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { $0.hasSuffix(".png") || $0.hasSuffix(".jpg") }.sorted().map { directory + "/" + $0 }
    }
}
