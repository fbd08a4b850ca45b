import Foundation
import Learning
import Metrics
import PipelineCommon

/// One image through a model: validated (decompression bombs and corrupt files refused),
/// rendered as the model's training variant was (same fit, size, colour handling), normalised
/// with the training statistics, then classified.
public struct Inference: Sendable {
    let resizer = VipsResizer()
    let inspector: ImageInspector

    public init(pixelLimit: Int) {
        inspector = ImageInspector(pixelLimit: pixelLimit)
    }

    public struct Prediction: Sendable, Codable, Equatable {
        public let label: String
        public let score: Double
    }

    /// The ranked predictions for the image at `path`; `scratch` is a directory for the rendered input.
    public func predict(_ path: String, model: LoadedModel, scratch: String, topK: Int) async throws(InferenceFailure)
        -> (predictions: [Prediction], info: ImageInfo)
    {
        let info: ImageInfo
        switch await inspector.validate(path) {
        case .failure(let rejection): throw .badImage(rejection)
        case .success(let found): info = found
        }
        let rendered = scratch + "/\(UUID().uuidString).png"
        defer { unlink(rendered) }
        var variant = model.variant
        variant.format = .png
        do {
            _ = try await resizer.render(path, variants: [variant], outputs: [rendered], statistics: nil)
            let pixels = try await BlockingPools.compute.runIfActive { try ImagePixels.load(rendered) }
            let input = model.predictor.model.input(from: pixels)
            let predictions = model.predictor.ranked(input).prefix(topK).map {
                Prediction(label: $0.label, score: $0.score)
            }
            return (Array(predictions), info)
        } catch {
            throw .internalError("\(error)")
        }
    }
}

public enum InferenceFailure: Error, Sendable, CustomStringConvertible {
    case badImage(ImageRejection)
    case internalError(String)

    public var description: String {
        switch self {
        case .badImage(let rejection): rejection.description
        case .internalError(let message): message
        }
    }
}
