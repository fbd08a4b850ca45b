import Foundation
import PipelineCommon

/// The builtin model's file (`.ipm`), written by stage 3 and read by stage 4:
///
/// ```
/// "IPMODEL\n"                      8 bytes, magic
/// format version                    UInt32 little-endian (1)
/// header length                     UInt32 little-endian
/// header                            JSON (ModelFile.Header)
/// parameters                        Float32 little-endian × header.parameter_count
/// SHA-256 of everything above       32 bytes
/// ```
///
/// Loading checks the magic, the version, the checksum and the sizes, and says which failed.
public struct ModelFile: Sendable, Equatable {
    public static let magic = Array("IPMODEL\n".utf8)
    public static let formatVersion: UInt32 = 1

    public struct Header: Sendable, Codable, Equatable {
        public var architecture: Architecture
        /// Class names, in output order.
        public var classes: [String]
        /// Per-channel mean and standard deviation (0…1) the inputs were normalised with.
        public var mean: [Double]
        public var standardDeviation: [Double]
        /// The normalize variant the model was trained on; stage 4 renders new images the same way.
        public var variant: VariantSpec
        public var parameterCount: Int
        public var datasetVersion: String
        public var metrics: [String: Double]
        public var createdAt: Date

        public init(
            architecture: Architecture, classes: [String], mean: [Double], standardDeviation: [Double],
            variant: VariantSpec, parameterCount: Int, datasetVersion: String, metrics: [String: Double],
            createdAt: Date = Date()
        ) {
            self.architecture = architecture
            self.classes = classes
            self.mean = mean
            self.standardDeviation = standardDeviation
            self.variant = variant
            self.parameterCount = parameterCount
            self.datasetVersion = datasetVersion
            self.metrics = metrics
            self.createdAt = createdAt
        }
    }

    public var header: Header
    public var parameters: [Float]

    public init(header: Header, parameters: [Float]) {
        self.header = header
        self.parameters = parameters
    }

    static let encoder = JSONEncoder.snakeCase()
    static let decoder = JSONDecoder.snakeCase

    public func encoded() throws -> Data {
        var data = Data(Self.magic)
        let header = try Self.encoder.encode(self.header)
        Self.append(Self.formatVersion, to: &data)
        Self.append(UInt32(header.count), to: &data)
        data.append(header)
        parameters.withUnsafeBufferPointer { buffer in
            for value in buffer { Self.append(value.bitPattern.littleEndian, to: &data) }
        }
        data.append(contentsOf: PipelineCommon.SHA256.hash(data))
        return data
    }

    public func write(to path: String) throws {
        try encoded().write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    public static func read(from path: String) throws -> ModelFile {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ModelFileError("\(path) cannot be read")
        }
        return try decode(data, name: path)
    }

    public static func decode(_ data: Data, name: String = "model") throws -> ModelFile {
        let bytes = [UInt8](data)
        guard bytes.count >= magic.count + 8 + 32, Array(bytes[0..<magic.count]) == magic else {
            throw ModelFileError("\(name) is not a pipeline model file (no IPMODEL header)")
        }
        let version = readUInt32(bytes, at: magic.count)
        guard version == formatVersion else {
            throw ModelFileError(
                "\(name) has model format version \(version); this build reads version \(formatVersion) — use the pipeline release that wrote it, or retrain"
            )
        }
        let body = bytes[0..<(bytes.count - 32)]
        guard Array(PipelineCommon.SHA256.hash(Data(body))) == Array(bytes[(bytes.count - 32)...]) else {
            throw ModelFileError("\(name) is corrupted: its SHA-256 checksum does not match; download it again")
        }
        let headerLength = Int(readUInt32(bytes, at: magic.count + 4))
        let headerStart = magic.count + 8
        guard headerStart + headerLength <= body.count else { throw ModelFileError("\(name) is truncated") }
        let header: Header
        do {
            header = try decoder.decode(Header.self, from: Data(bytes[headerStart..<(headerStart + headerLength)]))
        } catch {
            throw ModelFileError("\(name) has an unreadable header: \(error)")
        }
        if let problem = header.architecture.problem {
            throw ModelFileError("\(name) has an impossible architecture: \(problem)")
        }
        let parameterStart = headerStart + headerLength
        guard header.parameterCount == header.architecture.parameterCount,
            (body.count - parameterStart) == header.parameterCount * 4
        else { throw ModelFileError("\(name): parameter count does not match its architecture") }
        var parameters = [Float](repeating: 0, count: header.parameterCount)
        for index in 0..<header.parameterCount {
            parameters[index] = Float(bitPattern: readUInt32(bytes, at: parameterStart + index * 4))
        }
        return ModelFile(header: header, parameters: parameters)
    }

    private static func append(_ value: UInt32, to data: inout Data) {
        withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) }
    }

    private static func readUInt32(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16
            | UInt32(bytes[offset + 3]) << 24
    }

    /// Normalised C×H×W input from decoded pixels already at the model's input size.
    public func input(from pixels: ImagePixels) -> [Float] {
        Self.normalise(pixels, mean: header.mean, standardDeviation: header.standardDeviation)
    }

    public static func normalise(_ pixels: ImagePixels, mean: [Double], standardDeviation: [Double]) -> [Float] {
        let plane = pixels.width * pixels.height
        let channels = min(3, pixels.bands)
        var out = [Float](repeating: 0, count: channels * plane)
        for pixel in 0..<plane {
            for channel in 0..<channels {
                let value = Double(pixels.bytes[pixel * pixels.bands + channel]) / 255
                let m = channel < mean.count ? mean[channel] : 0.5
                let s = channel < standardDeviation.count ? max(standardDeviation[channel], 1e-3) : 0.25
                out[channel * plane + pixel] = Float((value - m) / s)
            }
        }
        return out
    }
}

public struct ModelFileError: Error, Sendable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
