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

/// Forward and backward passes for one example at a time, with every buffer allocated once,
/// when the workspace is made (one `Workspace` per thread).
final class Workspace {
    let architecture: Architecture
    let layout: Architecture.Layout
    // Per conv layer: its im2col columns, its output after bias and ReLU, the pooled output, and
    // for each pooled value the index of the output value it came from.
    private let columns: [UnsafeMutablePointer<Float>]
    private let activations: [UnsafeMutablePointer<Float>]
    private let pooled: [UnsafeMutablePointer<Float>]
    private let argmax: [UnsafeMutablePointer<Int32>]
    // Backward: the gradient at a layer's output (before pooling), at its columns, and two
    // buffers that the gradient at each layer's input (the pooled output below) alternates between.
    private let dActivation: UnsafeMutablePointer<Float>
    private let dColumns: UnsafeMutablePointer<Float>
    private let upstream: [UnsafeMutablePointer<Float>]
    private let allocations: [UnsafeMutableRawPointer]
    var logits: [Float]
    var probabilities: [Float]
    var gradient: [Float]
    /// The largest logit and log Σ exp(logit − largest), from the last `forward`.
    var topLogit: Float = 0
    var logTotal: Float = 0

    init(_ architecture: Architecture) {
        BLASThreads.configure()  // before any of its products (GEMM) runs
        self.architecture = architecture
        let layout = architecture.layout
        self.layout = layout
        var allocations: [UnsafeMutableRawPointer] = []
        func buffer<T>(_ count: Int, _ zero: T) -> UnsafeMutablePointer<T> {
            let pointer = UnsafeMutablePointer<T>.allocate(capacity: max(1, count))
            pointer.initialize(repeating: zero, count: max(1, count))
            allocations.append(UnsafeMutableRawPointer(pointer))
            return pointer
        }
        func floats(_ count: Int) -> UnsafeMutablePointer<Float> { buffer(count, Float(0)) }
        columns = layout.convs.map { floats($0.columns * $0.height * $0.width) }
        activations = layout.convs.map { floats($0.outChannels * $0.height * $0.width) }
        pooled = layout.convs.map { floats($0.outChannels * ($0.height / 2) * ($0.width / 2)) }
        argmax = layout.convs.map { buffer($0.outChannels * ($0.height / 2) * ($0.width / 2), Int32(0)) }
        dActivation = floats(layout.convs.map { $0.outChannels * $0.height * $0.width }.max() ?? 0)
        dColumns = floats(layout.convs.map { $0.columns * $0.height * $0.width }.max() ?? 0)
        let widestInput = max(
            layout.denseIn, layout.convs.map { $0.inChannels * $0.height * $0.width }.max() ?? 0)
        upstream = [floats(widestInput), floats(widestInput)]
        self.allocations = allocations
        logits = [Float](repeating: 0, count: architecture.classes)
        probabilities = [Float](repeating: 0, count: architecture.classes)
        gradient = [Float](repeating: 0, count: layout.count)
    }

    deinit {
        for allocation in allocations { allocation.deallocate() }
    }

    /// Class probabilities for `input` (C×H×W, normalised).
    func forward(_ parameters: UnsafePointer<Float>, _ input: UnsafePointer<Float>) {
        for (index, conv) in layout.convs.enumerated() {
            // The layer's input: the image, or the previous layer's pooled output.
            Self.im2col(index == 0 ? input : UnsafePointer(pooled[index - 1]), columns[index], conv)
            let pixels = conv.height * conv.width
            let out = activations[index]
            GEMM.multiply(
                parameters + conv.weights, transposeA: false, columns[index], transposeB: false, out,
                m: conv.outChannels, n: pixels, k: conv.columns, accumulate: false)
            for channel in 0..<conv.outChannels {
                let bias = parameters[conv.bias + channel]
                let row = out + channel * pixels
                for pixel in 0..<pixels { row[pixel] = max(0, row[pixel] + bias) }  // ReLU
            }
            Self.maxPool(out, into: pooled[index], argmax: argmax[index], conv)
        }
        dense(parameters, layout.convs.isEmpty ? input : UnsafePointer(pooled[layout.convs.count - 1]))
    }

    /// 2×2 max pooling of each channel of `activation` (H×W) into `out` (H/2×W/2), with the
    /// index into `activation` of each maximum (the first of equal ones, in row order).
    static func maxPool(
        _ activation: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, argmax: UnsafeMutablePointer<Int32>,
        _ conv: Architecture.ConvLayer
    ) {
        let width = conv.width
        let pooledHeight = conv.height / 2
        let pooledWidth = width / 2
        let pixels = conv.height * width
        let lanes = SIMD8<Int32>(0, 2, 4, 6, 8, 10, 12, 14)
        var target = 0
        for channel in 0..<conv.outChannels {
            for y in 0..<pooledHeight {
                let top = channel * pixels + 2 * y * width
                let bottom = top + width
                var x = 0
                // Eight windows at a time, with the same comparisons in the same order as the
                // loop after it.
                while x + 8 <= pooledWidth {
                    let upper = UnsafeRawPointer(activation + top + 2 * x).loadUnaligned(as: SIMD16<Float>.self)
                    let lower = UnsafeRawPointer(activation + bottom + 2 * x).loadUnaligned(as: SIMD16<Float>.self)
                    let base = lanes &+ Int32(top + 2 * x)
                    var best = upper.evenHalf
                    var at = base
                    var greater = upper.oddHalf .> best
                    best.replace(with: upper.oddHalf, where: greater)
                    at.replace(with: base &+ 1, where: greater)
                    greater = lower.evenHalf .> best
                    best.replace(with: lower.evenHalf, where: greater)
                    at.replace(with: base &+ Int32(width), where: greater)
                    greater = lower.oddHalf .> best
                    best.replace(with: lower.oddHalf, where: greater)
                    at.replace(with: base &+ Int32(width + 1), where: greater)
                    UnsafeMutableRawPointer(out + target).storeBytes(of: best, as: SIMD8<Float>.self)
                    UnsafeMutableRawPointer(argmax + target).storeBytes(of: at, as: SIMD8<Int32>.self)
                    target += 8
                    x += 8
                }
                while x < pooledWidth {
                    var best = activation[top + 2 * x]
                    var at = top + 2 * x
                    if activation[top + 2 * x + 1] > best {
                        best = activation[top + 2 * x + 1]
                        at = top + 2 * x + 1
                    }
                    if activation[bottom + 2 * x] > best {
                        best = activation[bottom + 2 * x]
                        at = bottom + 2 * x
                    }
                    if activation[bottom + 2 * x + 1] > best {
                        best = activation[bottom + 2 * x + 1]
                        at = bottom + 2 * x + 1
                    }
                    out[target] = best
                    argmax[target] = Int32(at)
                    target += 1
                    x += 1
                }
            }
        }
    }

    /// The dense layer and the softmax: logits, then probabilities.
    private func dense(_ parameters: UnsafePointer<Float>, _ denseInput: UnsafePointer<Float>) {
        let classes = architecture.classes
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
        let convs = layout.convs
        let denseInput = convs.isEmpty ? input : UnsafePointer(pooled[convs.count - 1])
        gradient.withUnsafeMutableBufferPointer { grad in
            let g = grad.baseAddress!
            dLogits.withUnsafeBufferPointer { d in
                // dW_dense += dLogits (classes×1) · input^T (1×denseIn)
                GEMM.multiply(
                    d.baseAddress!, transposeA: false, denseInput, transposeB: false, g + layout.denseWeights,
                    m: classes, n: layout.denseIn, k: 1, accumulate: true)
                for c in 0..<classes { g[layout.denseBias + c] += d[c] }
                guard !convs.isEmpty else { return }
                // Upstream into the last pooled output: W_dense^T · dLogits
                GEMM.multiply(
                    parameters + layout.denseWeights, transposeA: true, d.baseAddress!, transposeB: false,
                    upstream[0], m: layout.denseIn, n: 1, k: classes, accumulate: false)
            }
            var current = 0  // the upstream buffer holding the gradient at this layer's pooled output
            for index in stride(from: convs.count - 1, through: 0, by: -1) {
                let conv = convs[index]
                let pixels = conv.height * conv.width
                let pooledPixels = (conv.height / 2) * (conv.width / 2)
                let up = upstream[current]
                let maxima = pooled[index]
                let source = argmax[index]
                // Through the pool (to its argmax) and the ReLU (where the output was positive:
                // where the pooled maximum is); each channel's bias gradient is the sum of what
                // passes. Eight at a time, without a branch: which values pass follows the data.
                dActivation.update(repeating: 0, count: conv.outChannels * pixels)
                for channel in 0..<conv.outChannels {
                    var position = channel * pooledPixels
                    let end = position + pooledPixels
                    var sums = SIMD8<Float>()
                    while position + 8 <= end {
                        var passed = SIMD8<Float>()
                        passed.replace(
                            with: UnsafeRawPointer(up + position).loadUnaligned(as: SIMD8<Float>.self),
                            where: UnsafeRawPointer(maxima + position).loadUnaligned(as: SIMD8<Float>.self) .> 0)
                        sums += passed
                        for lane in 0..<8 { dActivation[Int(source[position + lane])] = passed[lane] }
                        position += 8
                    }
                    var sum = sums.sum()
                    while position < end {
                        let passed = maxima[position] > 0 ? up[position] : 0
                        dActivation[Int(source[position])] = passed
                        sum += passed
                        position += 1
                    }
                    g[conv.bias + channel] += sum
                }
                // dW += dA (out×pixels) · cols^T (pixels×columns)
                GEMM.multiply(
                    dActivation, transposeA: false, columns[index], transposeB: true, g + conv.weights,
                    m: conv.outChannels, n: conv.columns, k: pixels, accumulate: true)
                guard index > 0 else { break }
                // dCols = W^T (columns×out) · dA (out×pixels), then col2im into the input, the
                // layer below's pooled output.
                GEMM.multiply(
                    parameters + conv.weights, transposeA: true, dActivation, transposeB: false, dColumns,
                    m: conv.columns, n: pixels, k: conv.outChannels, accumulate: false)
                let below = upstream[1 - current]
                below.update(repeating: 0, count: conv.inChannels * pixels)
                Self.col2im(dColumns, below, conv)
                current = 1 - current
            }
        }
    }

    /// 3×3 patches with zero padding: row (channel·9 + ky·3 + kx), column (y·W + x). The block of
    /// one (channel, ky, kx) is the input plane shifted by s = (ky − 1)·W + (kx − 1): one copy of
    /// the plane's values from s on, zeros where the shift leaves the plane above or below, and a
    /// zero in the first (kx = 0) or last (kx = 2) column of each row, where it wraps around.
    static func im2col(
        _ input: UnsafePointer<Float>, _ columns: UnsafeMutablePointer<Float>, _ conv: Architecture.ConvLayer
    ) {
        let width = conv.width
        let pixels = conv.height * width
        for channel in 0..<conv.inChannels {
            let plane = input + channel * pixels
            for ky in 0..<3 {
                for kx in 0..<3 {
                    let block = columns + ((channel * 9) + ky * 3 + kx) * pixels
                    let (first, last, shift) = Self.overlap(ky: ky, kx: kx, width: width, pixels: pixels)
                    block.update(repeating: 0, count: first)
                    (block + first).update(from: plane + first + shift, count: last - first)
                    (block + last).update(repeating: 0, count: pixels - last)
                    Self.zeroWrappedColumn(block, kx: kx, width: width, pixels: pixels)
                }
            }
        }
    }

    /// Where the plane shifted by ky, kx lands in a block: block values [first, last) are plane
    /// values [first + shift, last + shift), the rest of the block is outside the plane.
    private static func overlap(ky: Int, kx: Int, width: Int, pixels: Int) -> (first: Int, last: Int, shift: Int) {
        let shift = (ky - 1) * width + (kx - 1)
        let first = min(pixels, max(0, -shift))
        return (first, max(first, min(pixels, pixels - shift)), shift)
    }

    /// Zeros the column of a block that the shift by kx wrapped around to the neighbouring row.
    private static func zeroWrappedColumn(_ block: UnsafeMutablePointer<Float>, kx: Int, width: Int, pixels: Int) {
        guard kx != 1 else { return }
        var at = kx == 0 ? 0 : width - 1
        while at < pixels {
            block[at] = 0
            at += width
        }
    }

    /// The adjoint of ``im2col(_:_:_:)``: every patch value added back to the input value it was
    /// copied from, block by block in the same order (channel, ky, kx), each input value getting
    /// one addition a block. The wrapped column of each block is zeroed first (this scratch is
    /// not read again), so the block adds to the plane in one pass: adding zero leaves a value as it is.
    static func col2im(
        _ columns: UnsafeMutablePointer<Float>, _ input: UnsafeMutablePointer<Float>, _ conv: Architecture.ConvLayer
    ) {
        let width = conv.width
        let pixels = conv.height * width
        for channel in 0..<conv.inChannels {
            let plane = input + channel * pixels
            for ky in 0..<3 {
                for kx in 0..<3 {
                    let block = columns + ((channel * 9) + ky * 3 + kx) * pixels
                    Self.zeroWrappedColumn(block, kx: kx, width: width, pixels: pixels)
                    let (first, last, shift) = Self.overlap(ky: ky, kx: kx, width: width, pixels: pixels)
                    let target = plane + (first + shift)
                    let source = block + first
                    let count = last - first
                    var at = 0
                    // Eight at a time (the pointers might alias for all the compiler knows, so it
                    // would not vectorise this itself).
                    while at + 8 <= count {
                        let sum =
                            UnsafeRawPointer(target + at).loadUnaligned(as: SIMD8<Float>.self)
                            + UnsafeRawPointer(source + at).loadUnaligned(as: SIMD8<Float>.self)
                        UnsafeMutableRawPointer(target + at).storeBytes(of: sum, as: SIMD8<Float>.self)
                        at += 8
                    }
                    while at < count {
                        target[at] += source[at]
                        at += 1
                    }
                }
            }
        }
    }
}
