import Foundation
import Learning
import PipelineCommon

/// The files every builtin run logs besides the model: a model card, the confusion matrix
/// and the training curves as a PNG.
enum RunArtifacts {
    static func modelCard(model: ModelFile, runId: String, metrics: [String: Double], modelBytes: Int?) throws -> Data {
        struct Card: Encodable {
            let format = "image-pipeline model card v1"
            let run_id: String
            let dataset_version: String
            let classes: [String]
            let input: [Int]
            let architecture: Architecture
            let normalization: [String: [Double]]
            let variant: VariantSpec
            let metrics: [String: Double]
            let parameter_count: Int
            let model_bytes: Int?
            let model_file: String
        }
        return try JSONEncoder.canonical.encode(
            Card(
                run_id: runId, dataset_version: model.header.datasetVersion, classes: model.header.classes,
                input: model.header.architecture.input, architecture: model.header.architecture,
                normalization: ["mean": model.header.mean, "std": model.header.standardDeviation],
                variant: model.header.variant, metrics: metrics, parameter_count: model.header.parameterCount,
                model_bytes: modelBytes,
                model_file: "model.ipm (format \(ModelFile.formatVersion); see README, Model file)"))
    }

    static func confusion(_ matrix: [[Int]], classes: [String]) throws -> Data {
        struct Confusion: Encodable {
            let classes: [String]
            let rows = "true class"
            let columns = "predicted class"
            let matrix: [[Int]]
        }
        return try JSONEncoder.canonical.encode(Confusion(classes: classes, matrix: matrix))
    }

    /// A 640×360 line chart: training accuracy (blue), validation accuracy (orange) and
    /// normalised loss (grey) per epoch, on 0…1 with grid lines at 0.25.
    static func curvePNG(_ history: [EpochMetrics], path: String) throws {
        let width = 640
        let height = 360
        let margin = 30
        var pixels = [UInt8](repeating: 255, count: width * height * 3)
        func plot(_ x: Int, _ y: Int, _ colour: (UInt8, UInt8, UInt8)) {
            guard x >= 0, x < width, y >= 0, y < height else { return }
            let at = (y * width + x) * 3
            pixels[at] = colour.0
            pixels[at + 1] = colour.1
            pixels[at + 2] = colour.2
        }
        func line(_ x0: Int, _ y0: Int, _ x1: Int, _ y1: Int, _ colour: (UInt8, UInt8, UInt8)) {
            let steps = max(abs(x1 - x0), abs(y1 - y0), 1)
            for step in 0...steps {
                let x = x0 + (x1 - x0) * step / steps
                let y = y0 + (y1 - y0) * step / steps
                for dy in 0...1 { plot(x, y + dy, colour) }
            }
        }
        let plotWidth = width - 2 * margin
        let plotHeight = height - 2 * margin
        for quarter in 0...4 {
            let y = margin + plotHeight - plotHeight * quarter / 4
            line(margin, y, width - margin, y, (220, 220, 220))
        }
        line(margin, margin, margin, height - margin, (0, 0, 0))
        line(margin, height - margin, width - margin, height - margin, (0, 0, 0))
        let maxLoss = max(history.map { max($0.loss, $0.validationLoss) }.max() ?? 1, 1e-9)
        let series: [((EpochMetrics) -> Double, (UInt8, UInt8, UInt8))] = [
            ({ $0.accuracy }, (31, 119, 180)), ({ $0.validationAccuracy }, (255, 127, 14)),
            ({ $0.loss / maxLoss }, (140, 140, 140)),
        ]
        for (value, colour) in series where history.count > 1 {
            let points = history.enumerated().map { index, epoch in
                (
                    margin + plotWidth * index / (history.count - 1),
                    margin + plotHeight - Int(Double(plotHeight) * min(1, max(0, value(epoch))))
                )
            }
            for (a, b) in zip(points, points.dropFirst()) { line(a.0, a.1, b.0, b.1, colour) }
        }
        try ImagePixels(width: width, height: height, bands: 3, bytes: pixels).writePNG(path)
    }
}
