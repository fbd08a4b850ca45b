import Foundation

/// One labelled input, normalised, C×H×W.
public struct Example: Sendable {
    public let pixels: [Float]
    public let label: Int
    public init(pixels: [Float], label: Int) {
        self.pixels = pixels
        self.label = label
    }
}

public struct TrainingOptions: Sendable, Codable, Equatable {
    public var epochs: Int
    public var batchSize: Int
    public var learningRate: Double
    public var momentum: Double
    public var weightDecay: Double
    /// Epochs without a better validation accuracy before stopping.
    public var patience: Int
    public var seed: UInt64
    /// Threads computing one mini-batch together.
    public var threads: Int

    public init(
        epochs: Int = 20, batchSize: Int = 32, learningRate: Double = 0.02, momentum: Double = 0.9,
        weightDecay: Double = 1e-4, patience: Int = 4, seed: UInt64 = 1,
        threads: Int = ProcessInfo.processInfo.activeProcessorCount
    ) {
        self.epochs = epochs
        self.batchSize = batchSize
        self.learningRate = learningRate
        self.momentum = momentum
        self.weightDecay = weightDecay
        self.patience = patience
        self.seed = seed
        self.threads = threads
    }
}

public struct EpochMetrics: Sendable, Codable, Equatable {
    public var epoch: Int
    public var loss: Double
    public var accuracy: Double
    public var validationLoss: Double
    public var validationAccuracy: Double
    public var imagesPerSecond: Double

    public init(
        epoch: Int, loss: Double, accuracy: Double, validationLoss: Double, validationAccuracy: Double,
        imagesPerSecond: Double
    ) {
        self.epoch = epoch
        self.loss = loss
        self.accuracy = accuracy
        self.validationLoss = validationLoss
        self.validationAccuracy = validationAccuracy
        self.imagesPerSecond = imagesPerSecond
    }
}

public struct Evaluation: Sendable, Equatable {
    public var loss: Double
    public var accuracy: Double
    /// rows: true class, columns: predicted class.
    public var confusion: [[Int]]
}

/// Mini-batch SGD with momentum and weight decay over a flat parameter vector; each batch
/// is split across `threads` workspaces whose gradients are summed in a fixed order, so a
/// seed (and a thread count) gives the same model every time.
///
/// `@unchecked Sendable` because ``perThread`` hands `self` to `DispatchQueue.concurrentPerform`:
/// those worker threads read only `workspaces` (a `let` array), each worker writing into its
/// own `Workspace` and its own slot of the partials, and see the parameters through a pointer
/// the calling thread holds for the duration; `parameters` and `velocity`, the only `var`s,
/// change on the calling thread alone, after `concurrentPerform` has returned. A Trainer
/// itself is driven by one task at a time (each backend makes its own and awaits every call).
public final class Trainer: @unchecked Sendable {
    public let architecture: Architecture
    public let options: TrainingOptions
    public private(set) var parameters: [Float]
    private var velocity: [Float]
    private let workspaces: [Workspace]

    public init(architecture: Architecture, options: TrainingOptions, parameters: [Float]? = nil) {
        self.architecture = architecture
        self.options = options
        self.parameters = parameters ?? architecture.initialParameters(seed: options.seed)
        self.velocity = [Float](repeating: 0, count: architecture.parameterCount)
        self.workspaces = (0..<max(1, options.threads)).map { _ in Workspace(architecture) }
    }

    public func setParameters(_ values: [Float]) {
        precondition(values.count == parameters.count)
        parameters = values
    }

    /// One pass over `examples` in an order drawn from the seed and `epoch`; returns mean loss and accuracy.
    public func trainEpoch(_ examples: [Example], epoch: Int) -> (loss: Double, accuracy: Double) {
        let order = Self.order(count: examples.count, seed: options.seed, epoch: epoch)
        var totalLoss = 0.0
        var correct = 0
        var start = 0
        while start < order.count {
            let batch = Array(order[start..<min(start + options.batchSize, order.count)])
            let (loss, right) = step(batch.map { examples[$0] })
            totalLoss += loss
            correct += right
            start += options.batchSize
        }
        return (totalLoss / Double(max(1, examples.count)), Double(correct) / Double(max(1, examples.count)))
    }

    /// The order of `count` examples in `epoch` (from 1): a Fisher-Yates shuffle drawn from
    /// `seed` + 7919 × `epoch` (examples/trainers/builtin_random.py draws the same).
    static func order(count: Int, seed: UInt64, epoch: Int) -> [Int] {
        var order = Array(0..<count)
        var random = Gaussian(seed: seed &+ UInt64(epoch) &* 7919)
        for index in stride(from: count - 1, to: 0, by: -1) {
            order.swapAt(index, Int(random.uniform() * Double(index + 1)) % (index + 1))
        }
        return order
    }

    /// Runs `body` for every example with the examples dealt round-robin to `threads`
    /// threads, each with its own workspace and its own `Partial`, and returns the partials in
    /// thread order, so that what is summed from them comes out the same on every run.
    private func perThread<Partial>(
        _ examples: [Example], parameters values: [Float], threads: Int, initial: Partial,
        _ body: (Workspace, Example, UnsafePointer<Float>, inout Partial) -> Void
    ) -> [Partial] {
        var partials = [Partial](repeating: initial, count: threads)
        withoutActuallyEscaping(body) { body in
            values.withUnsafeBufferPointer { params in
                partials.withUnsafeMutableBufferPointer { buffer in
                    let p = Unchecked(params.baseAddress!)
                    let out = Unchecked(buffer)
                    let body = Unchecked(body)
                    DispatchQueue.concurrentPerform(iterations: threads) { thread in
                        let workspace = self.workspaces[thread]
                        var index = thread
                        while index < examples.count {
                            body.value(workspace, examples[index], p.value, &out.value[thread])
                            index += threads
                        }
                    }
                }
            }
        }
        return partials
    }

    /// Loss sum and correct count of one mini-batch, after updating the parameters.
    private func step(_ batch: [Example]) -> (Double, Int) {
        let threads = min(workspaces.count, batch.count)
        for workspace in workspaces { workspace.gradient.withUnsafeMutableBufferPointer { $0.update(repeating: 0) } }
        let partials = perThread(batch, parameters: parameters, threads: threads, initial: (loss: 0.0, right: 0)) {
            workspace, example, p, partial in
            example.pixels.withUnsafeBufferPointer { input in
                workspace.forward(p, input.baseAddress!)
                partial.loss += workspace.loss(label: example.label)
                if Self.argmax(workspace.probabilities) == example.label { partial.right += 1 }
                workspace.backward(p, input.baseAddress!, label: example.label)
            }
        }
        let scale = Float(1.0 / Double(batch.count))
        let rate = Float(options.learningRate)
        let momentum = Float(options.momentum)
        let decay = Float(options.weightDecay)
        parameters.withUnsafeMutableBufferPointer { params in
            velocity.withUnsafeMutableBufferPointer { velocity in
                for index in 0..<params.count {
                    var gradient: Float = 0
                    for thread in 0..<threads { gradient += workspaces[thread].gradient[index] }
                    gradient = gradient * scale + decay * params[index]
                    velocity[index] = momentum * velocity[index] - rate * gradient
                    params[index] += velocity[index]
                }
            }
        }
        return (partials.reduce(0) { $0 + $1.loss }, partials.reduce(0) { $0 + $1.right })
    }

    /// Loss, accuracy and confusion matrix of `parameters` (default: the current ones) on `examples`.
    public func evaluate(_ examples: [Example], parameters override: [Float]? = nil) -> Evaluation {
        let classes = architecture.classes
        let partials = perThread(
            examples, parameters: override ?? parameters, threads: workspaces.count,
            initial: (loss: 0.0, confusion: [Int](repeating: 0, count: classes * classes))
        ) { workspace, example, p, partial in
            example.pixels.withUnsafeBufferPointer { workspace.forward(p, $0.baseAddress!) }
            partial.loss += workspace.loss(label: example.label)
            partial.confusion[example.label * classes + Self.argmax(workspace.probabilities)] += 1
        }
        let losses = partials.map(\.loss)
        let confusions = partials.map(\.confusion)
        var confusion = [[Int]](repeating: [Int](repeating: 0, count: classes), count: classes)
        for partial in confusions {
            for row in 0..<classes {
                for column in 0..<classes { confusion[row][column] += partial[row * classes + column] }
            }
        }
        let correct = (0..<classes).reduce(0) { $0 + confusion[$1][$1] }
        return Evaluation(
            loss: losses.reduce(0, +) / Double(max(1, examples.count)),
            accuracy: Double(correct) / Double(max(1, examples.count)), confusion: confusion)
    }

    /// Class probabilities for one normalised input.
    public func predict(_ pixels: [Float]) -> [Float] {
        let workspace = workspaces[0]
        parameters.withUnsafeBufferPointer { params in
            pixels.withUnsafeBufferPointer { workspace.forward(params.baseAddress!, $0.baseAddress!) }
        }
        return workspace.probabilities
    }

    /// Trains with early stopping on `validation` accuracy and leaves the best parameters in place.
    public func fit(
        _ training: [Example], validation: [Example], onEpoch: (EpochMetrics) -> Void = { _ in }
    ) -> [EpochMetrics] {
        var history: [EpochMetrics] = []
        var best = (accuracy: -1.0, loss: Double.infinity, parameters: parameters)
        var stale = 0
        for epoch in 1...max(1, options.epochs) {
            let started = Date()
            let (loss, accuracy) = trainEpoch(training, epoch: epoch)
            let seconds = max(Date().timeIntervalSince(started), 1e-6)
            let evaluation = evaluate(validation)
            let metrics = EpochMetrics(
                epoch: epoch, loss: loss, accuracy: accuracy, validationLoss: evaluation.loss,
                validationAccuracy: evaluation.accuracy, imagesPerSecond: Double(training.count) / seconds)
            history.append(metrics)
            onEpoch(metrics)
            if evaluation.accuracy > best.accuracy
                || (evaluation.accuracy == best.accuracy && evaluation.loss < best.loss)
            {
                best = (evaluation.accuracy, evaluation.loss, parameters)
                stale = 0
            } else {
                stale += 1
                if stale >= options.patience { break }
            }
        }
        parameters = best.parameters
        return history
    }

    static func argmax(_ values: [Float]) -> Int {
        var best = 0
        for index in values.indices where values[index] > values[best] { best = index }
        return best
    }
}

/// Hands a pointer to the threads of `concurrentPerform`, each of which touches only its own
/// slots (or only reads), which the compiler cannot see.
struct Unchecked<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
