import Foundation
import PipelineCommon
import Testing

@testable import Learning

@Suite("The builtin classifier learns shape, not colour")
struct ShapesTrainingTests {
    static func examples(count: Int, seed: UInt64, size: Int) -> (train: [Example], validation: [Example]) {
        var all: [Example] = []
        for index in 0..<count {
            let (pixels, label) = SyntheticShapes.image(index: index, seed: seed, size: size)
            all.append(
                Example(
                    pixels: ModelFile.normalise(pixels, mean: [0.5, 0.5, 0.5], standardDeviation: [0.29, 0.29, 0.29]),
                    label: SyntheticShapes.classes.firstIndex(of: label)!))
        }
        let cut = count * 4 / 5
        return (Array(all[..<cut]), Array(all[cut...]))
    }

    @Test func aSmallConvNetReachesNinetyPercentWhereSoftmaxRegressionStaysNearChance() throws {
        let (train, validation) = Self.examples(count: 2000, seed: 7, size: 32)
        let cnn = Trainer(
            architecture: Architecture(input: [3, 32, 32], convolutions: [8, 16, 32], classes: 3),
            options: TrainingOptions(epochs: 15, batchSize: 32, learningRate: 0.02, seed: 3))
        let history = cnn.fit(train, validation: validation)
        let best = try #require(history.map(\.validationAccuracy).max())
        print("cnn: best validation accuracy \(best) after \(history.count) epochs")
        #expect(best >= 0.9)
        #expect(cnn.evaluate(validation).accuracy == best, "the best epoch's parameters are kept")

        let linear = Trainer(
            architecture: Architecture(input: [3, 32, 32], convolutions: [], classes: 3),
            options: TrainingOptions(epochs: 15, batchSize: 32, learningRate: 0.002, seed: 3))
        let baseline = try #require(linear.fit(train, validation: validation).map(\.validationAccuracy).max())
        print("softmax regression: best validation accuracy \(baseline)")
        #expect(baseline < 0.6, "a raw-pixel linear model cannot tell the shapes apart")
    }

    @Test func theSameSeedGivesTheSameModel() {
        let (train, validation) = Self.examples(count: 200, seed: 1, size: 16)
        func model() -> [Float] {
            let trainer = Trainer(
                architecture: Architecture(input: [3, 16, 16], convolutions: [4, 8], classes: 3),
                options: TrainingOptions(epochs: 2, batchSize: 16, seed: 9, threads: 2))
            _ = trainer.fit(train, validation: validation)
            return trainer.parameters
        }
        #expect(model() == model())
    }
}

@Suite("Gradients of every layer against finite differences")
struct GradientTests {
    @Test func backpropagationMatchesNumericalGradients() {
        let architecture = Architecture(input: [2, 8, 8], convolutions: [3, 4], classes: 3)
        var parameters = architecture.initialParameters(seed: 5).map { Double($0) }.map { Float($0) }
        var random = Gaussian(seed: 11)
        let input = (0..<(2 * 8 * 8)).map { _ in Float(random.next()) }
        let label = 2
        let workspace = Workspace(architecture)
        func loss(_ values: [Float]) -> Double {
            values.withUnsafeBufferPointer { p in
                input.withUnsafeBufferPointer { workspace.forward(p.baseAddress!, $0.baseAddress!) }
            }
            return -log(Double(workspace.probabilities[label]))
        }
        _ = loss(parameters)
        workspace.gradient = [Float](repeating: 0, count: parameters.count)
        parameters.withUnsafeBufferPointer { p in
            input.withUnsafeBufferPointer { workspace.backward(p.baseAddress!, $0.baseAddress!, label: label) }
        }
        let analytic = workspace.gradient
        let layout = architecture.layout
        // Every weight and bias block: conv 1, conv 2, dense; a spread of entries in each.
        let blocks =
            layout.convs.flatMap { [($0.weights, $0.outChannels * $0.columns), ($0.bias, $0.outChannels)] } + [
                (layout.denseWeights, architecture.classes * layout.denseIn), (layout.denseBias, architecture.classes),
            ]
        var checked = 0
        for (offset, count) in blocks {
            for index in stride(from: offset, to: offset + count, by: max(1, count / 7)) {
                let step: Float = 1e-2
                let saved = parameters[index]
                parameters[index] = saved + step
                let up = loss(parameters)
                parameters[index] = saved - step
                let down = loss(parameters)
                parameters[index] = saved
                let numeric = (up - down) / (2 * Double(step))
                let difference = abs(numeric - Double(analytic[index]))
                #expect(
                    difference <= 2e-3 + 2e-2 * abs(numeric),
                    "parameter \(index): numeric \(numeric), analytic \(analytic[index])")
                checked += 1
            }
        }
        #expect(checked > 30)
    }

    /// The loss comes from the logits: a prediction wrong by 200 nats, whose probability is 0 in
    /// Float, loses 200 (as PyTorch's CrossEntropyLoss counts it), not the 27.6 of a clamped
    /// log(1e-12) (what the trainer reported before, so its epoch losses read lower than the
    /// PyTorch trainer's on the same network).
    @Test func theLossIsExactWhereTheProbabilityUnderflows() {
        // Softmax regression on one input value: logits = weights · 1 + biases = [0, -200].
        let architecture = Architecture(input: [1, 1, 1], convolutions: [], classes: 2)
        let parameters: [Float] = [0, 0, 0, -200]
        #expect(architecture.parameterCount == parameters.count)
        let trainer = Trainer(architecture: architecture, options: TrainingOptions(threads: 1))
        let wrong = trainer.evaluate([Example(pixels: [1], label: 1)], parameters: parameters)
        #expect(abs(wrong.loss - 200) < 1e-3, "loss \(wrong.loss)")
        #expect(wrong.accuracy == 0)
        let right = trainer.evaluate([Example(pixels: [1], label: 0)], parameters: parameters)
        #expect(right.loss >= 0 && right.loss < 1e-6, "loss \(right.loss)")
    }
}

@Suite("Model file: round trip, version and corruption")
struct ModelFileTests {
    func sample() -> ModelFile {
        let architecture = Architecture(input: [3, 8, 8], convolutions: [2], classes: 2)
        return ModelFile(
            header: .init(
                architecture: architecture, classes: ["a", "b"], mean: [0.1, 0.2, 0.3],
                standardDeviation: [0.4, 0.5, 0.6], variant: VariantSpec(name: "train", width: 8, height: 8, fit: .pad),
                parameterCount: architecture.parameterCount, datasetVersion: "normalize-x",
                metrics: ["val_accuracy": 0.9], createdAt: Date(timeIntervalSince1970: 1_800_000_000)),
            parameters: architecture.initialParameters(seed: 1))
    }

    @Test func roundTripsByteForByte() throws {
        let model = sample()
        let data = try model.encoded()
        #expect(try ModelFile.decode(data) == model)
        #expect(Array(data.prefix(8)) == ModelFile.magic)
    }

    @Test func refusesOtherVersionsCorruptionAndOtherFiles() throws {
        let data = try sample().encoded()
        var newer = data
        newer[8] = 2
        #expect(throws: ModelFileError.self) { try ModelFile.decode(newer) }
        do { _ = try ModelFile.decode(newer) } catch { #expect("\(error)".contains("format version 2")) }
        var corrupted = data
        corrupted[data.count / 2] ^= 0xff
        do {
            _ = try ModelFile.decode(corrupted)
            Issue.record("a corrupted file loaded")
        } catch { #expect("\(error)".contains("corrupted")) }
        do {
            _ = try ModelFile.decode(Data("{\"not\": \"a model\"}".utf8))
            Issue.record("JSON loaded as a model")
        } catch { #expect("\(error)".contains("not a pipeline model file")) }
    }

    /// Each block halves its input: more blocks than the image has halvings would pool it to
    /// nothing (a 0-pixel plane, which the convolution does not run on), so such a network is
    /// refused, in a model file as in training, with what to change.
    @Test func blocksThatWouldPoolTheImageAwayAreRefused() {
        #expect(Architecture(input: [3, 32, 32], convolutions: [8, 8, 8, 8, 8], classes: 3).problem == nil)
        #expect(Architecture(input: [3, 3, 2], convolutions: [4], classes: 2).problem == nil)
        let deep = Architecture(input: [3, 32, 32], convolutions: [8, 8, 8, 8, 8, 8], classes: 3).problem
        #expect(
            deep?.contains("block 6 of convolutions") == true && deep?.contains("1×1 input") == true, "\(deep ?? "")")
        let small = Architecture(input: [3, 2, 2], convolutions: [8, 16, 32], classes: 3).problem
        #expect(small?.contains("block 2") == true && small?.contains("use fewer blocks") == true, "\(small ?? "")")
        #expect(Architecture(input: [3, 1, 64], convolutions: [8], classes: 3).problem?.contains("64×1") == true)
    }
}
