import Testing

@testable import Learning

/// The convolution's data movement (im2col, its adjoint col2im, and 2×2 max pooling with its
/// argmax) against value-by-value definitions, on sizes that reach every path: widths that are
/// and are not a multiple of the eight lanes, odd heights and widths, one-pixel planes, and
/// values with many ties (for pooling, the first maximum in row order wins).
@Suite("Convolution buffers: im2col, col2im and max pooling against their definitions")
struct ConvolutionBuffersTests {
    static let sizes = [(1, 1), (1, 9), (9, 1), (2, 3), (7, 19), (6, 36), (5, 16), (9, 8)]

    static func layer(channels: Int, height: Int, width: Int) -> Architecture.ConvLayer {
        Architecture.ConvLayer(
            inChannels: channels, outChannels: channels, height: height, width: width, weights: 0, bias: 0)
    }

    /// Values from a small set, so that equal values (ties) are common.
    static func values(_ count: Int, seed: UInt64) -> [Float] {
        var random = Gaussian(seed: seed)
        return (0..<count).map { _ in Float(Int(random.uniform() * 5)) - 1 }
    }

    /// Every patch value inside the plane, value by value in the order (channel, ky, kx, y, x):
    /// its index among the columns and the index of the input value it is a copy of.
    static func forEachPatchValue(
        channels: Int, height: Int, width: Int, _ body: (_ column: Int, _ source: Int) -> Void
    ) {
        let pixels = height * width
        for channel in 0..<channels {
            for ky in 0..<3 {
                for kx in 0..<3 {
                    for y in 0..<height {
                        for x in 0..<width {
                            let (sy, sx) = (y + ky - 1, x + kx - 1)
                            guard (0..<height).contains(sy), (0..<width).contains(sx) else { continue }
                            body(
                                (channel * 9 + ky * 3 + kx) * pixels + y * width + x, channel * pixels + sy * width + sx
                            )
                        }
                    }
                }
            }
        }
    }

    @Test(arguments: sizes) func im2colCopiesEachPatchValueOrAZero(height: Int, width: Int) {
        let conv = Self.layer(channels: 2, height: height, width: width)
        let pixels = height * width
        let input = Self.values(2 * pixels, seed: 1)
        var columns = [Float](repeating: .nan, count: conv.columns * pixels)
        input.withUnsafeBufferPointer { source in
            columns.withUnsafeMutableBufferPointer { Workspace.im2col(source.baseAddress!, $0.baseAddress!, conv) }
        }
        var expected = [Float](repeating: 0, count: columns.count)
        Self.forEachPatchValue(channels: 2, height: height, width: width) { column, source in
            expected[column] = input[source]
        }
        #expect(columns == expected)
    }

    @Test(arguments: sizes) func col2imAddsEachPatchValueBackInOrder(height: Int, width: Int) {
        let conv = Self.layer(channels: 2, height: height, width: width)
        let pixels = height * width
        let patches = Self.values(conv.columns * pixels, seed: 2).map { $0 * 0.37 }
        var scratch = patches
        var input = Self.values(2 * pixels, seed: 3)
        var expected = input
        scratch.withUnsafeMutableBufferPointer { columns in
            input.withUnsafeMutableBufferPointer { Workspace.col2im(columns.baseAddress!, $0.baseAddress!, conv) }
        }
        Self.forEachPatchValue(channels: 2, height: height, width: width) { column, source in
            expected[source] += patches[column]
        }
        // The same additions in the same order (and additions of zero) give the same values.
        #expect(input == expected)
    }

    @Test(arguments: sizes) func maxPoolingKeepsTheFirstMaximumOfEachWindow(height: Int, width: Int) {
        let conv = Self.layer(channels: 3, height: height, width: width)
        let (pooledHeight, pooledWidth) = (height / 2, width / 2)
        let activation = Self.values(3 * height * width, seed: 4)
        let count = 3 * pooledHeight * pooledWidth
        var pooled = [Float](repeating: .nan, count: max(1, count))
        var argmax = [Int32](repeating: -1, count: max(1, count))
        activation.withUnsafeBufferPointer { source in
            pooled.withUnsafeMutableBufferPointer { out in
                argmax.withUnsafeMutableBufferPointer {
                    Workspace.maxPool(source.baseAddress!, into: out.baseAddress!, argmax: $0.baseAddress!, conv)
                }
            }
        }
        var target = 0
        for channel in 0..<3 {
            for y in 0..<pooledHeight {
                for x in 0..<pooledWidth {
                    var best = -Float.infinity
                    var at = -1
                    for (dy, dx) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
                        let index = channel * height * width + (2 * y + dy) * width + 2 * x + dx
                        if activation[index] > best {
                            best = activation[index]
                            at = index
                        }
                    }
                    #expect(
                        pooled[target] == best && argmax[target] == Int32(at), "channel \(channel), window (\(y), \(x))"
                    )
                    target += 1
                }
            }
        }
        #expect(target == count)
    }
}
