import Foundation

/// The convolution's data movement: im2col and its adjoint, and 2×2 max pooling with the index
/// of each maximum, on the buffers of a ``Workspace``.
extension Workspace {
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

    /// 3×3 patches with zero padding: row (channel·9 + ky·3 + kx), column (y·W + x). The block of
    /// one (channel, ky, kx) is the input plane shifted by s = (ky − 1)·W + (kx − 1): one copy of
    /// the plane's values from s on, zeros where the shift leaves the plane above or below, and a
    /// zero in the first (kx = 0) or last (kx = 2) column of each row, where it wraps around.
    static func im2col(
        _ input: UnsafePointer<Float>, _ columns: UnsafeMutablePointer<Float>, _ conv: Architecture.ConvLayer
    ) {
        let pixels = conv.height * conv.width
        Self.forEachBlock(conv) { plane, block, kx, first, last, shift in
            let out = columns + block
            out.update(repeating: 0, count: first)
            (out + first).update(from: input + (plane + first + shift), count: last - first)
            (out + last).update(repeating: 0, count: pixels - last)
            Self.zeroWrappedColumn(out, kx: kx, width: conv.width, pixels: pixels)
        }
    }

    /// Calls `body` for each block of the columns, in order (channel, ky, kx), with the offsets of
    /// its input plane and of the block, its kx, and where the shifted plane lands in it
    /// (``overlap(ky:kx:width:pixels:)``).
    private static func forEachBlock(
        _ conv: Architecture.ConvLayer,
        _ body: (_ plane: Int, _ block: Int, _ kx: Int, _ first: Int, _ last: Int, _ shift: Int) -> Void
    ) {
        let pixels = conv.height * conv.width
        for channel in 0..<conv.inChannels {
            for ky in 0..<3 {
                for kx in 0..<3 {
                    let (first, last, shift) = Self.overlap(ky: ky, kx: kx, width: conv.width, pixels: pixels)
                    body(channel * pixels, (channel * 9 + ky * 3 + kx) * pixels, kx, first, last, shift)
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
        guard kx != 1, width > 0 else { return }
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
        let pixels = conv.height * conv.width
        Self.forEachBlock(conv) { plane, block, kx, first, last, shift in
            Self.zeroWrappedColumn(columns + block, kx: kx, width: conv.width, pixels: pixels)
            let target = input + (plane + first + shift)
            let source = columns + (block + first)
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
