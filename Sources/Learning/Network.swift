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

/// Box–Muller normal numbers from SplitMix64, identical on every machine.
struct Gaussian {
    var state: UInt64
    var spare: Double?

    init(seed: UInt64) { state = seed ^ 0x5851_F42D_4C95_7F2D }

    mutating func uniform() -> Double {
        state = state &+ 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return (Double(z >> 11) + 0.5) / Double(1 << 53)
    }

    mutating func next() -> Double {
        if let spare {
            self.spare = nil
            return spare
        }
        let radius = (-2 * log(uniform())).squareRoot()
        let angle = 2 * Double.pi * uniform()
        spare = radius * sin(angle)
        return radius * cos(angle)
    }
}

/// Forward and backward passes for one example at a time, with scratch buffers reused
/// across calls (one `Workspace` per thread).
final class Workspace {
    let architecture: Architecture
    let layout: Architecture.Layout
    // Per conv layer: the input (C×H×W), its im2col columns, the pre-activation output, the pooled output, argmax.
    var inputs: [[Float]]
    var columns: [[Float]]
    var activations: [[Float]]
    var pooled: [[Float]]
    var argmax: [[Int32]]
    var logits: [Float]
    var probabilities: [Float]
    /// The largest logit and log Σ exp(logit − largest), from the last `forward`.
    var topLogit: Float = 0
    var logTotal: Float = 0
    var gradient: [Float]
    var scratchColumns: [Float]
    var scratchUpstream: [Float]

    init(_ architecture: Architecture) {
        BLASThreads.configure()  // before any of its products (GEMM) runs
        self.architecture = architecture
        layout = architecture.layout
        inputs = layout.convs.map { [Float](repeating: 0, count: $0.inChannels * $0.height * $0.width) }
        columns = layout.convs.map { [Float](repeating: 0, count: $0.columns * $0.height * $0.width) }
        activations = layout.convs.map { [Float](repeating: 0, count: $0.outChannels * $0.height * $0.width) }
        pooled = layout.convs.map { [Float](repeating: 0, count: $0.outChannels * ($0.height / 2) * ($0.width / 2)) }
        argmax = layout.convs.map { [Int32](repeating: 0, count: $0.outChannels * ($0.height / 2) * ($0.width / 2)) }
        logits = [Float](repeating: 0, count: architecture.classes)
        probabilities = [Float](repeating: 0, count: architecture.classes)
        gradient = [Float](repeating: 0, count: layout.count)
        let widest = layout.convs.map { $0.columns * $0.height * $0.width }.max() ?? 0
        scratchColumns = [Float](repeating: 0, count: widest)
        scratchUpstream = [Float](
            repeating: 0,
            count: max(layout.denseIn, layout.convs.map { $0.outChannels * $0.height * $0.width }.max() ?? 0))
    }

    /// Class probabilities for `input` (C×H×W, normalised).
    func forward(_ parameters: UnsafePointer<Float>, _ input: UnsafePointer<Float>) {
        for (index, conv) in layout.convs.enumerated() {
            // The layer's input: the image, or the previous layer's pooled output (copied inside
            // the closures that lend the pointers: no pointer outlives its closure).
            if index == 0 {
                let count = architecture.input.reduce(1, *)
                inputs[0].withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: input, count: count) }
            } else {
                pooled[index - 1].withUnsafeBufferPointer { source in
                    inputs[index].withUnsafeMutableBufferPointer {
                        $0.baseAddress!.update(from: source.baseAddress!, count: source.count)
                    }
                }
            }
            inputs[index].withUnsafeBufferPointer { source in
                columns[index].withUnsafeMutableBufferPointer { cols in
                    Self.im2col(source.baseAddress!, cols.baseAddress!, conv)
                }
            }
            let pixels = conv.height * conv.width
            activations[index].withUnsafeMutableBufferPointer { out in
                columns[index].withUnsafeBufferPointer { cols in
                    GEMM.multiply(
                        parameters + conv.weights, transposeA: false, cols.baseAddress!, transposeB: false,
                        out.baseAddress!, m: conv.outChannels, n: pixels, k: conv.columns, accumulate: false)
                }
                for channel in 0..<conv.outChannels {
                    let bias = parameters[conv.bias + channel]
                    let row = out.baseAddress! + channel * pixels
                    for pixel in 0..<pixels { row[pixel] = max(0, row[pixel] + bias) }  // ReLU
                }
            }
            let pooledHeight = conv.height / 2
            let pooledWidth = conv.width / 2
            activations[index].withUnsafeBufferPointer { activation in
                pooled[index].withUnsafeMutableBufferPointer { out in
                    argmax[index].withUnsafeMutableBufferPointer { arg in
                        for channel in 0..<conv.outChannels {
                            for y in 0..<pooledHeight {
                                for x in 0..<pooledWidth {
                                    var best = -Float.infinity
                                    var bestIndex = 0
                                    for dy in 0..<2 {
                                        for dx in 0..<2 {
                                            let at = channel * pixels + (2 * y + dy) * conv.width + 2 * x + dx
                                            if activation[at] > best {
                                                best = activation[at]
                                                bestIndex = at
                                            }
                                        }
                                    }
                                    let target = (channel * pooledHeight + y) * pooledWidth + x
                                    out[target] = best
                                    arg[target] = Int32(bestIndex)
                                }
                            }
                        }
                    }
                }
            }
        }
        let classes = architecture.classes
        withDenseInput(input) { denseInput in dense(parameters, denseInput, classes: classes) }
    }

    /// Runs `body` with the dense layer's input: the last pooled output, or the image itself
    /// when there is no convolution.
    private func withDenseInput<R>(_ input: UnsafePointer<Float>, _ body: (UnsafePointer<Float>) -> R) -> R {
        guard let last = pooled.indices.last else { return body(input) }
        return pooled[last].withUnsafeBufferPointer { body($0.baseAddress!) }
    }

    /// The dense layer and the softmax: logits, then probabilities.
    private func dense(_ parameters: UnsafePointer<Float>, _ denseInput: UnsafePointer<Float>, classes: Int) {
        logits.withUnsafeMutableBufferPointer { out in
            GEMM.multiply(
                parameters + layout.denseWeights, transposeA: false, denseInput, transposeB: false, out.baseAddress!,
                m: classes, n: 1, k: layout.denseIn, accumulate: false)
            var top = -Float.infinity
            for c in 0..<classes {
                out[c] += parameters[layout.denseBias + c]
                top = max(top, out[c])
            }
            var total: Float = 0
            for c in 0..<classes {
                probabilities[c] = exp(out[c] - top)
                total += probabilities[c]
            }
            for c in 0..<classes { probabilities[c] /= total }
            topLogit = top
            logTotal = log(total)
        }
    }

    /// The cross-entropy loss of the last `forward` for `label`, log Σ exp(logits) − logit, from
    /// the logits rather than the probability: exact where the probability underflows (a
    /// confidently wrong prediction counts its whole loss, as PyTorch's `CrossEntropyLoss` does,
    /// not −log(1e-12) ≈ 27.6 at most), and never below zero (the largest logit is at least
    /// this one, and the total at least 1).
    func loss(label: Int) -> Double { Double(topLogit - logits[label]) + Double(logTotal) }

    /// Adds the gradient of the cross-entropy loss for `label` (after `forward`) to `gradient`.
    func backward(_ parameters: UnsafePointer<Float>, _ input: UnsafePointer<Float>, label: Int) {
        let classes = architecture.classes
        // dLogits = p - onehot
        var dLogits = probabilities
        dLogits[label] -= 1
        withDenseInput(input) { denseInput in
            backward(parameters, denseInput: denseInput, dLogits: dLogits, classes: classes)
        }
    }

    private func backward(
        _ parameters: UnsafePointer<Float>, denseInput: UnsafePointer<Float>, dLogits: [Float], classes: Int
    ) {
        gradient.withUnsafeMutableBufferPointer { grad in
            let g = grad.baseAddress!
            dLogits.withUnsafeBufferPointer { d in
                // dW_dense += dLogits (classes×1) · input^T (1×denseIn)
                GEMM.multiply(
                    d.baseAddress!, transposeA: false, denseInput, transposeB: false, g + layout.denseWeights,
                    m: classes, n: layout.denseIn, k: 1, accumulate: true)
                for c in 0..<classes { g[layout.denseBias + c] += d[c] }
                guard !layout.convs.isEmpty else { return }
                // Upstream into the last pooled output: W_dense^T · dLogits
                scratchUpstream.withUnsafeMutableBufferPointer { up in
                    GEMM.multiply(
                        parameters + layout.denseWeights, transposeA: true, d.baseAddress!, transposeB: false,
                        up.baseAddress!, m: layout.denseIn, n: 1, k: classes, accumulate: false)
                }
            }
            guard !layout.convs.isEmpty else { return }
            var upstream = Array(scratchUpstream.prefix(pooled[layout.convs.count - 1].count))
            for index in stride(from: layout.convs.count - 1, through: 0, by: -1) {
                let conv = layout.convs[index]
                let pixels = conv.height * conv.width
                // Through the pool (to the argmax) and the ReLU (where the activation was positive).
                var dActivation = [Float](repeating: 0, count: conv.outChannels * pixels)
                for (position, source) in argmax[index].enumerated() where activations[index][Int(source)] > 0 {
                    dActivation[Int(source)] += upstream[position]
                }
                dActivation.withUnsafeBufferPointer { dA in
                    for channel in 0..<conv.outChannels {
                        var sum: Float = 0
                        let row = dA.baseAddress! + channel * pixels
                        for pixel in 0..<pixels { sum += row[pixel] }
                        g[conv.bias + channel] += sum
                    }
                    columns[index].withUnsafeBufferPointer { cols in
                        // dW += dA (out×pixels) · cols^T (pixels×columns)
                        GEMM.multiply(
                            dA.baseAddress!, transposeA: false, cols.baseAddress!, transposeB: true, g + conv.weights,
                            m: conv.outChannels, n: conv.columns, k: pixels, accumulate: true)
                    }
                }
                guard index > 0 else { break }
                // dCols = W^T (columns×out) · dA (out×pixels), then col2im into the input.
                scratchColumns.withUnsafeMutableBufferPointer { dCols in
                    dActivation.withUnsafeBufferPointer { dA in
                        GEMM.multiply(
                            parameters + conv.weights, transposeA: true, dA.baseAddress!, transposeB: false,
                            dCols.baseAddress!, m: conv.columns, n: pixels, k: conv.outChannels, accumulate: false)
                    }
                    var dInput = [Float](repeating: 0, count: conv.inChannels * pixels)
                    dInput.withUnsafeMutableBufferPointer { Self.col2im(dCols.baseAddress!, $0.baseAddress!, conv) }
                    upstream = dInput
                }
            }
        }
    }

    /// 3×3 patches with zero padding: row (channel·9 + ky·3 + kx), column (y·W + x). Each row of
    /// a patch row is the input row `y + ky - 1` shifted by `kx - 1`: a copy of `width - 1` (or
    /// `width`) values and a zero at the edge, not a test a value.
    static func im2col(
        _ input: UnsafePointer<Float>, _ columns: UnsafeMutablePointer<Float>, _ conv: Architecture.ConvLayer
    ) {
        let height = conv.height
        let width = conv.width
        let pixels = height * width
        for channel in 0..<conv.inChannels {
            let plane = input + channel * pixels
            for ky in 0..<3 {
                for kx in 0..<3 {
                    let row = columns + ((channel * 9) + ky * 3 + kx) * pixels
                    for y in 0..<height {
                        let out = row + y * width
                        let sy = y + ky - 1
                        guard sy >= 0 && sy < height else {
                            out.update(repeating: 0, count: width)
                            continue
                        }
                        let source = plane + sy * width
                        switch kx {
                        case 0:  // out[x] = source[x - 1]
                            out[0] = 0
                            (out + 1).update(from: source, count: width - 1)
                        case 1:
                            out.update(from: source, count: width)
                        default:  // out[x] = source[x + 1]
                            out.update(from: source + 1, count: width - 1)
                            out[width - 1] = 0
                        }
                    }
                }
            }
        }
    }

    /// The adjoint of ``im2col(_:_:_:)``: every patch value added back to the input value it was
    /// copied from, in the same order (channel, ky, kx, y, x) as a value-by-value loop.
    static func col2im(
        _ columns: UnsafePointer<Float>, _ input: UnsafeMutablePointer<Float>, _ conv: Architecture.ConvLayer
    ) {
        let height = conv.height
        let width = conv.width
        let pixels = height * width
        for channel in 0..<conv.inChannels {
            let plane = input + channel * pixels
            for ky in 0..<3 {
                for kx in 0..<3 {
                    let row = columns + ((channel * 9) + ky * 3 + kx) * pixels
                    for y in 0..<height {
                        let sy = y + ky - 1
                        guard sy >= 0 && sy < height else { continue }
                        let from = row + y * width
                        let target = plane + sy * width
                        // Input x' = x + kx - 1 receives from[x], for the x that keep x' inside.
                        let first = kx == 0 ? 1 : 0
                        let last = kx == 2 ? width - 1 : width
                        let shift = kx - 1
                        // Eight at a time (the pointers might alias for all the compiler knows,
                        // so it would not vectorise this itself); each value gets one addition,
                        // as before.
                        var x = first
                        while x + 8 <= last {
                            let sum =
                                UnsafeRawPointer(target + x + shift).loadUnaligned(as: SIMD8<Float>.self)
                                + UnsafeRawPointer(from + x).loadUnaligned(as: SIMD8<Float>.self)
                            UnsafeMutableRawPointer(target + x + shift).storeBytes(of: sum, as: SIMD8<Float>.self)
                            x += 8
                        }
                        while x < last {
                            target[x + shift] += from[x]
                            x += 1
                        }
                    }
                }
            }
        }
    }
}
