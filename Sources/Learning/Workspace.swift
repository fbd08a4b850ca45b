import Foundation

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
    /// The gradient at the logits, in `backward`.
    private var dLogits: [Float]
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
        dLogits = [Float](repeating: 0, count: architecture.classes)
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
        for c in 0..<classes { dLogits[c] = probabilities[c] }
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
}
