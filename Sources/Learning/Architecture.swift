import Foundation

/// The builtin classifier: `conv(3×3, same) → ReLU → max-pool 2×2` blocks and a dense
/// softmax head, or the head alone on raw pixels (softmax regression, the baseline).
/// Every parameter lives in one flat array (`parameters`), so optimisers, averaging across
/// nodes and the model file treat the network as one vector.
public struct Architecture: Sendable, Codable, Equatable {
    /// Channels, height, width of the input.
    public var input: [Int]
    /// Output channels of each convolutional block; empty for softmax regression.
    public var convolutions: [Int]
    public var classes: Int

    public init(input: [Int], convolutions: [Int], classes: Int) {
        self.input = input
        self.convolutions = convolutions
        self.classes = classes
    }

    struct ConvLayer {
        let inChannels, outChannels, height, width: Int
        let weights: Int  // offset of outChannels × (inChannels·9)
        let bias: Int  // offset of outChannels
        var columns: Int { inChannels * 9 }
    }

    struct Layout {
        let convs: [ConvLayer]
        let denseIn: Int
        let denseWeights: Int
        let denseBias: Int
        let count: Int
    }

    var layout: Layout {
        var offset = 0
        var channels = input[0]
        var height = input[1]
        var width = input[2]
        var convs: [ConvLayer] = []
        for out in convolutions {
            convs.append(
                ConvLayer(
                    inChannels: channels, outChannels: out, height: height, width: width, weights: offset,
                    bias: offset + out * channels * 9))
            offset += out * channels * 9 + out
            channels = out
            height /= 2
            width /= 2
        }
        let denseIn = channels * height * width
        let denseWeights = offset
        offset += classes * denseIn
        let denseBias = offset
        offset += classes
        return Layout(convs: convs, denseIn: denseIn, denseWeights: denseWeights, denseBias: denseBias, count: offset)
    }

    public var parameterCount: Int { layout.count }

    /// Why this architecture cannot be built (a model file's header is outside bytes), or nil:
    /// an input of channels, height and width, each block and the classes in range, and a
    /// parameter count that fits in memory (found by fuzzing: an input of fewer than three
    /// numbers trapped, Fuzz/Regressions/FuzzModelFile).
    public var problem: String? {
        guard input.count == 3 else { return "input \(input) is not [channels, height, width]" }
        guard (1...4096).contains(input[0]), input.dropFirst().allSatisfy({ (1...65_536).contains($0) }) else {
            return "input \(input) is out of range (1 to 4096 channels, sides of 1 to 65 536)"
        }
        guard convolutions.count <= 16, convolutions.allSatisfy({ (1...4096).contains($0) }) else {
            return "convolutions \(convolutions) are out of range (at most 16 blocks of 1 to 4096 channels)"
        }
        // Each block pools its input 2×2: every block needs an input of at least 2×2 (a
        // smaller one pools to nothing, and the head would see no features).
        var (height, width) = (input[1], input[2])
        for block in convolutions.indices {
            guard height >= 2, width >= 2 else {
                return
                    "block \(block + 1) of convolutions \(convolutions) gets a \(width)×\(height) input from a \(input[2])×\(input[1]) image (each block halves it): use fewer blocks or a larger training variant"
            }
            (height, width) = (height / 2, width / 2)
        }
        guard (1...100_000).contains(classes) else { return "\(classes) classes is out of range" }
        // Within these bounds `layout` cannot overflow (its largest product, classes × channels ×
        // height × width, is at most 100 000 × 4096 × 65 536² ≈ 1.8·10^18 < 2^63); its count must
        // stay under 2^31 parameters (8 GiB of Float).
        let total = layout.count
        return total < 1 << 31 ? nil : "\(total) parameters are more than a model file holds"
    }

    /// He-initialised parameters, the same for the same seed.
    public func initialParameters(seed: UInt64) -> [Float] {
        let layout = self.layout
        var random = Gaussian(seed: seed)
        var parameters = [Float](repeating: 0, count: layout.count)
        for conv in layout.convs {
            let scale = (2.0 / Double(conv.columns)).squareRoot()
            for index in 0..<(conv.outChannels * conv.columns) {
                parameters[conv.weights + index] = Float(random.next() * scale)
            }
        }
        let scale = (1.0 / Double(layout.denseIn)).squareRoot()
        for index in 0..<(classes * layout.denseIn) {
            parameters[layout.denseWeights + index] = Float(random.next() * scale)
        }
        return parameters
    }
}
