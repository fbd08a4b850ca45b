import Foundation
import Learning
import PipelineCommon
import TestSupport
import Testing

/// The builtin model exported as ONNX (`pipelinectl model export --format onnx`), judged by the
/// ONNX checker and onnxruntime (`scripts/peers/onnx_agreement.py`): the same class scores as the
/// Swift model on the same images, to 1e-4.
@Suite(
    "ONNX export: onnxruntime agrees with the Swift model",
    .enabled(if: Services.available("PIPELINE_TEST_PYTHON"), Services.skipReason))
struct ONNXExportTests {
    /// A trained CNN and a softmax regression, each over images it never saw.
    @Test(arguments: [[6, 12], []])
    func onnxruntimeGivesTheSwiftModelsScores(_ convolutions: [Int]) async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let size = 24
        let mean = [0.48, 0.5, 0.52]
        let deviation = [0.27, 0.29, 0.31]
        func example(_ index: Int, seed: UInt64) -> (pixels: ImagePixels, label: Int) {
            let (pixels, label) = SyntheticShapes.image(index: index, seed: seed, size: size)
            return (pixels, SyntheticShapes.classes.firstIndex(of: label)!)
        }
        let training = (0..<300).map { example($0, seed: 5) }.map {
            Example(pixels: ModelFile.normalise($0.pixels, mean: mean, standardDeviation: deviation), label: $0.label)
        }
        let architecture = Architecture(
            input: [3, size, size], convolutions: convolutions, classes: SyntheticShapes.classes.count)
        let trainer = Trainer(
            architecture: architecture, options: TrainingOptions(epochs: 2, batchSize: 16, learningRate: 0.02, seed: 9))
        _ = trainer.fit(training, validation: Array(training.prefix(50)))
        let model = ModelFile(
            header: .init(
                architecture: architecture, classes: SyntheticShapes.classes, mean: mean, standardDeviation: deviation,
                variant: VariantSpec(name: "train", width: size, height: size, fit: .pad, format: .png, quality: 90),
                parameterCount: architecture.parameterCount, datasetVersion: "normalize-test", metrics: [:]),
            parameters: trainer.parameters)
        let modelPath = dir.file("model.ipm")
        try model.write(to: modelPath)

        // What the infer stage computes: the pixels normalised, then the network.
        let images = (0..<12).map { example($0, seed: 77).pixels }
        let predictor = Predictor(model: model)
        let expected = images.map { predictor.probabilities(model.input(from: $0)) }
        // The same images as the ONNX model takes them: NCHW, 0-255.
        var raw = Data()
        for image in images {
            for channel in 0..<3 {
                for pixel in 0..<(size * size) {
                    let value = Float(image.bytes[pixel * image.bands + channel])
                    withUnsafeBytes(of: value.bitPattern.littleEndian) { raw.append(contentsOf: $0) }
                }
            }
        }
        try raw.write(to: URL(fileURLWithPath: dir.file("inputs.f32")))
        let document: [String: Any] = [
            "shape": [images.count, 3, size, size], "probabilities": expected.map { $0.map(Double.init) },
        ]
        try JSONSerialization.data(withJSONObject: document).write(to: URL(fileURLWithPath: dir.file("expected.json")))

        let export = try await Command.run(
            Command.buildDirectory.appendingPathComponent("pipelinectl").path,
            ["model", "export", "--file", modelPath, "--format", "onnx", "--output", dir.file("model.onnx")],
            environment: ["HOME": dir.path])
        #expect(export.status == 0, "\(export.stderr)")
        #expect(export.stdout.contains("probabilities"), "the export says what the model takes and gives")

        let python = try Services.value("PIPELINE_TEST_PYTHON")
        let judge = Services.packageRoot.appendingPathComponent("scripts/peers/onnx_agreement.py").path
        let result = try await Command.run(
            python, [judge, dir.file("model.onnx"), dir.file("inputs.f32"), dir.file("expected.json")],
            environment: ["HOME": dir.path])
        print("onnx export \(convolutions): \(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines))")
        #expect(result.status == 0, "\(result.stdout) \(result.stderr)")
        let report = try #require(
            try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect((report["max_difference"] as? Double ?? 1) <= 1e-4)
        #expect(report["images"] as? Int == 12 && report["classes"] as? Int == SyntheticShapes.classes.count)
        let metadata = try #require(report["metadata"] as? [String: String])
        #expect(metadata["classes"] == SyntheticShapes.classes.joined(separator: "\n"))
    }
}
