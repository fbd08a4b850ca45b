import Foundation
import Testing

@testable import Learning

/// examples/trainers/builtin_random.py, the builtin trainer's random numbers in Python (the
/// PyTorch trainer's initial weights and order of examples come from it), against the Swift
/// ones, bit for bit: uniforms, normals, an epoch's order, and the initial weights of a network.
@Suite("The builtin trainer's random numbers in Python are the Swift ones")
struct BuiltinRandomTests {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("examples/trainers/builtin_random.py").path

    struct Drawn: Decodable {
        let uniforms: [UInt64]
        let normals: [UInt64]
        let order: [Int]
        let weights: [[UInt32]]
    }

    /// What the Python file draws for these arguments.
    static func python(seed: UInt64, epoch: Int, count: Int, architecture: Architecture) throws -> Drawn {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments =
            ["python3", script, "\(seed)", "\(epoch)", "\(count)"] + architecture.input.map(String.init) + [
                architecture.convolutions.map(String.init).joined(separator: ","), "\(architecture.classes)",
            ]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "python3 \(script)")
        return try JSONDecoder().decode(Drawn.self, from: data)
    }

    /// Where two sequences first differ, or nil (a failure names one place, not two dumps of
    /// a thousand values).
    static func firstDifference<T: Equatable>(_ a: [T], _ b: [T]) -> String? {
        guard a.count == b.count else { return "\(a.count) values against \(b.count)" }
        return a.indices.first { a[$0] != b[$0] }.map { "at \($0): \(a[$0]) against \(b[$0])" }
    }

    @Test(arguments: [(UInt64(1), 1), (3, 15), (0xFFFF_FFFF_FFFF_FFF0, 2)])
    func pythonDrawsWhatSwiftDraws(seed: UInt64, epoch: Int) throws {
        // The bench's network (64×64, 8-16-32, 3 classes), and one with a wide input (1945
        // channels, a fan-in whose scale `** 0.5` and `sqrt` round differently as doubles).
        for architecture in [
            Architecture(input: [3, 64, 64], convolutions: [8, 16, 32], classes: 3),
            Architecture(input: [1945, 2, 2], convolutions: [2], classes: 2),
        ] {
            let count = 1_000
            let drawn = try Self.python(seed: seed, epoch: epoch, count: count, architecture: architecture)
            var uniforms = Gaussian(seed: seed)
            var normals = Gaussian(seed: seed)
            #expect(Self.firstDifference(drawn.uniforms, (0..<count).map { _ in uniforms.uniform().bitPattern }) == nil)
            #expect(Self.firstDifference(drawn.normals, (0..<count).map { _ in normals.next().bitPattern }) == nil)
            #expect(Self.firstDifference(drawn.order, Trainer.order(count: count, seed: seed, epoch: epoch)) == nil)
            let parameters = architecture.initialParameters(seed: seed)
            let layout = architecture.layout
            let blocks =
                layout.convs.map { Array(parameters[$0.weights..<($0.weights + $0.outChannels * $0.columns)]) } + [
                    Array(
                        parameters[layout.denseWeights..<(layout.denseWeights + architecture.classes * layout.denseIn)])
                ]
            #expect(
                Self.firstDifference(drawn.weights.flatMap { $0 }, blocks.flatMap { $0.map(\.bitPattern) }) == nil,
                "\(architecture)")
            #expect(drawn.weights.map(\.count) == blocks.map(\.count))
        }
    }
}
