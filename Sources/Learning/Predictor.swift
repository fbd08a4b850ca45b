import Foundation
import Synchronization

/// Class probabilities from a loaded model, safe to call from many threads at once: each
/// call borrows a workspace from a small pool.
public final class Predictor: Sendable {
    public let model: ModelFile
    private let parameters: [Float]
    private let pool = Mutex<[UncheckedWorkspace]>([])

    /// `@unchecked Sendable`: a workspace (mutable buffers) is used by one call at a time: a
    /// call takes it out of `pool` under the mutex, uses it alone, and puts it back under the
    /// mutex, so no two threads ever touch the same workspace at once.
    struct UncheckedWorkspace: @unchecked Sendable {
        let workspace: Workspace
    }

    public init(model: ModelFile) {
        self.model = model
        self.parameters = model.parameters
    }

    /// Probabilities per class (in `model.header.classes` order) for one normalised input.
    public func probabilities(_ input: [Float]) -> [Float] {
        let borrowed =
            pool.withLock { $0.popLast() } ?? UncheckedWorkspace(workspace: Workspace(model.header.architecture))
        defer { pool.withLock { $0.append(borrowed) } }
        precondition(input.count == model.header.architecture.input.reduce(1, *), "input of the wrong size")
        parameters.withUnsafeBufferPointer { p in
            input.withUnsafeBufferPointer { borrowed.workspace.forward(p.baseAddress!, $0.baseAddress!) }
        }
        return borrowed.workspace.probabilities
    }

    /// The classes with their probabilities, most likely first.
    public func ranked(_ input: [Float]) -> [(label: String, score: Double)] {
        zip(model.header.classes, probabilities(input)).map { ($0, Double($1)) }.sorted { $0.score > $1.score }
    }
}
