import COpenBLAS
import Foundation

/// Single-precision matrix multiply on row-major buffers: C (M×N) = A (M×K) · B (K×N), with
/// either operand read transposed, added to C when `accumulate`: OpenBLAS's `cblas_sgemm`.
///
/// Threads: the trainer already runs one example per core (``Trainer``'s `threads`), so
/// OpenBLAS runs each product on the calling thread (``BLASThreads/configure()``, called when a
/// workspace is made, sets its own pool to one thread): the two kinds of parallelism never oversubscribe the cores, and each
/// product sums in one fixed order, so the same seed and thread count give the same model.
enum GEMM {
    static func multiply(
        _ a: UnsafePointer<Float>, transposeA: Bool, _ b: UnsafePointer<Float>, transposeB: Bool,
        _ c: UnsafeMutablePointer<Float>, m: Int, n: Int, k: Int, accumulate: Bool
    ) {
        pl_sgemm(
            transposeA ? 1 : 0, transposeB ? 1 : 0, Int32(m), Int32(n), Int32(k), 1, a, Int32(transposeA ? m : k), b,
            Int32(transposeB ? k : n), accumulate ? 1 : 0, c, Int32(n))
    }
}

/// OpenBLAS, loaded once per process when a workspace is first made (a stage that never trains
/// or predicts never loads it), its own thread pool set to one thread (see ``GEMM``).
/// `OPENBLAS_NUM_THREADS` in the environment still wins, for a run that wants BLAS threads
/// instead of the trainer's (determinism then holds for the same BLAS thread count).
public enum BLASThreads {
    private static let configured: Bool = {
        var message = [CChar](repeating: 0, count: 256)
        guard pl_blas_load(&message, message.count) == 0 else {
            // A broken installation: the stage images and `scripts/services.sh apt` install it.
            fatalError(String(cString: message))
        }
        if let value = getenv("OPENBLAS_NUM_THREADS"), let threads = Int32(String(cString: value)), threads > 0 {
            pl_blas_set_threads(threads)
        } else {
            pl_blas_set_threads(1)
        }
        return true
    }()

    public static func configure() { _ = configured }

    /// The threads OpenBLAS runs a product on.
    public static var count: Int {
        configure()
        return Int(pl_blas_threads())
    }
}
