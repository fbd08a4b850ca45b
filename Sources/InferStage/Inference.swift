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

    /// The ranked predictions for the image at `path`.
    public func predict(_ path: String, model: LoadedModel, topK: Int) async throws(InferenceFailure)
        -> (predictions: [Prediction], info: ImageInfo)
    {
        try await predict(.file(path), model: model, topK: topK)
    }

    /// ``predict(_:model:topK:)`` of an image staged in memory or in a file.
    public func predict(_ image: ImageInput, model: LoadedModel, topK: Int) async throws(InferenceFailure)
        -> (predictions: [Prediction], info: ImageInfo)
    {
        var phases = PhaseTimes(stage: "infer")
        return try await predict(image, model: model, topK: topK, phases: &phases)
    }

    /// ``predict(_:model:topK:)``, where
    /// `phases`, when given, gets the time spent validating, rendering and predicting.
    public func predict(_ path: String, model: LoadedModel, topK: Int, phases: inout PhaseTimes)
        async throws(InferenceFailure) -> (predictions: [Prediction], info: ImageInfo)
    {
        try await predict(.file(path), model: model, topK: topK, phases: &phases)
    }

    /// ``predict(_:model:topK:phases:)-(String,_,_,_)`` of an image staged in memory or in a file.
    /// `validated`: the bytes are known to have passed ``ImageInspector/validate(_:)-(ImageInput)``
    /// (a curated original staged against the SHA-256 ingest recorded once it had decoded it
    /// whole), so only the header is read, not every pixel a second time.
    public func predict(
        _ image: ImageInput, model: LoadedModel, topK: Int, phases: inout PhaseTimes, validated: Bool = false
    ) async throws(InferenceFailure) -> (predictions: [Prediction], info: ImageInfo) {
        let info: ImageInfo
        let validation: Result<ImageInfo, ImageRejection>
        if validated {
            do {
                validation = .success(try await inspector.probe(image))
            } catch let rejection as ImageRejection {
                validation = .failure(rejection)
            } catch {
                validation = .failure(.corrupt(detail: "\(error)"))
            }
        } else {
            validation = await inspector.validate(image)
        }
        phases.lap("validate")
        switch validation {
        case .failure(let rejection): throw .badImage(rejection)
        case .success(let found): info = found
        }
        do {
            let pixels = try await resizer.pixels(image, variant: model.variant)
            phases.lap("render")
            let input = model.predictor.model.input(from: pixels)
            let predictions = model.predictor.ranked(input).prefix(topK).map {
                Prediction(label: $0.label, score: $0.score)
            }
            phases.lap("predict")
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
