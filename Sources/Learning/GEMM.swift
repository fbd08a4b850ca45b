/// Single-precision matrix multiply on row-major buffers: C (M×N) = A (M×K) · B (K×N),
/// with either operand read transposed, added to C when `accumulate`. Loops are ordered so
/// the innermost one walks contiguous memory and vectorises; the Learning target is always
/// compiled with optimisation (see Package.swift), so this runs at speed in debug builds too.
enum GEMM {
    static func multiply(
        _ a: UnsafePointer<Float>, transposeA: Bool, _ b: UnsafePointer<Float>, transposeB: Bool,
        _ c: UnsafeMutablePointer<Float>, m: Int, n: Int, k: Int, accumulate: Bool
    ) {
        if !accumulate { c.update(repeating: 0, count: m * n) }
        switch (transposeA, transposeB) {
        case (false, false):
            // C[i, :] += A[i, p] * B[p, :]
            for i in 0..<m {
                let row = c + i * n
                for p in 0..<k {
                    let scale = a[i * k + p]
                    if scale == 0 { continue }
                    let source = b + p * n
                    for j in 0..<n { row[j] += scale * source[j] }
                }
            }
        case (true, false):
            // A is K×M: C[i, :] += A[p, i] * B[p, :]
            for p in 0..<k {
                let source = b + p * n
                for i in 0..<m {
                    let scale = a[p * m + i]
                    if scale == 0 { continue }
                    let row = c + i * n
                    for j in 0..<n { row[j] += scale * source[j] }
                }
            }
        case (false, true):
            // B is N×K: C[i, j] += dot(A[i, :], B[j, :])
            for i in 0..<m {
                let left = a + i * k
                for j in 0..<n {
                    let right = b + j * k
                    var sum: Float = 0
                    for p in 0..<k { sum += left[p] * right[p] }
                    c[i * n + j] += sum
                }
            }
        case (true, true):
            for i in 0..<m {
                for j in 0..<n {
                    var sum: Float = 0
                    for p in 0..<k { sum += a[p * m + i] * b[j * k + p] }
                    c[i * n + j] += sum
                }
            }
        }
    }
}
