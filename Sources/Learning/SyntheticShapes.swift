import Foundation
import PipelineCommon

/// Images of circles, squares and triangles in random colours, sizes and places on noisy
/// backgrounds of random colour: the demo's dataset, and the test that the builtin model
/// learns shape and not colour (a raw-pixel linear model stays near chance on it).
public enum SyntheticShapes {
    public static let classes = ["circle", "square", "triangle"]

    /// Image `index` of a set drawn from `seed`: the same arguments give the same pixels.
    public static func image(index: Int, seed: UInt64, size: Int = 64) -> (pixels: ImagePixels, label: String) {
        let drawn = shape(index: index, seed: seed, size: size)
        return (drawn.pixels, drawn.label)
    }

    /// The image, its class and the box around the shape.
    public static func shape(index: Int, seed: UInt64, size: Int = 64)
        -> (pixels: ImagePixels, label: String, box: BoundingBox)
    {
        var random = Gaussian(seed: seed &* 1_000_003 &+ UInt64(index))
        let label = classes[Int(random.uniform() * 3) % 3]
        let background = (0..<3).map { _ in random.uniform() * 255 }
        var shape = (0..<3).map { _ in random.uniform() * 255 }
        // Keep the shape visible: at least 80 levels from the background on average.
        let difference = zip(shape, background).map { abs($0 - $1) }.reduce(0, +) / 3
        if difference < 80 { shape = background.map { $0 > 127 ? $0 - 120 : $0 + 120 } }
        let extent = Double(size) * (0.3 + 0.35 * random.uniform())  // width of the shape
        let half = extent / 2
        let centreX = half + random.uniform() * (Double(size) - extent)
        let centreY = half + random.uniform() * (Double(size) - extent)
        var bytes = [UInt8](repeating: 0, count: size * size * 3)
        for y in 0..<size {
            for x in 0..<size {
                let px = Double(x) + 0.5 - centreX
                let py = Double(y) + 0.5 - centreY
                let inside: Bool
                switch label {
                case "circle": inside = px * px + py * py <= half * half
                case "square": inside = abs(px) <= half * 0.85 && abs(py) <= half * 0.85
                default:
                    // Upright triangle: apex at the top, base at the bottom.
                    let t = (py + half) / extent  // 0 at the apex, 1 at the base
                    inside = t >= 0 && t <= 1 && abs(px) <= t * half
                }
                let colour = inside ? shape : background
                for channel in 0..<3 {
                    let noisy = colour[channel] + random.next() * 20
                    bytes[(y * size + x) * 3 + channel] = UInt8(max(0, min(255, noisy.rounded())))
                }
            }
        }
        let reach = label == "square" ? half * 0.85 : half
        let box = BoundingBox(
            x: centreX - reach, y: centreY - half * (label == "square" ? 0.85 : 1), width: 2 * reach,
            height: label == "square" ? 2 * reach : extent)
        return (ImagePixels(width: size, height: size, bands: 3, bytes: bytes), label, box)
    }
}

extension SyntheticShapes {
    public enum AnnotationFormat: String, Sendable, CaseIterable { case labelStudio = "label-studio", coco }

    /// Writes `count` shape images as PNGs under `rawPrefix` and their annotations at
    /// `annotationsKey`: a Label Studio export naming each one's class (a `choices` result),
    /// or a COCO instances file with the box around each shape. A dataset ready for ingest.
    public static func upload(
        count: Int, seed: UInt64, size: Int = 64, to objects: any ObjectStore, rawPrefix: String,
        annotationsKey: String, workDirectory: String, format: AnnotationFormat = .labelStudio
    ) async throws {
        var tasks: [LabelStudioTask] = []
        let labels = try await concurrentMap(count: count, limit: 8) { index -> String in
            let (pixels, label) = image(index: index, seed: seed, size: size)
            let path = "\(workDirectory)/shape-\(index).png"
            try await BlockingPools.compute.runIfActive { try pixels.writePNG(path) }
            defer { unlink(path) }
            _ = try await objects.put(
                "\(rawPrefix)shape-\(index).png", fromFile: path, contentType: "image/png", sha256: nil)
            return label
        }
        if format == .coco {
            let images = (0..<count).map {
                index -> (fileName: String, width: Int, height: Int, annotations: [ImageAnnotation]) in
                let drawn = shape(index: index, seed: seed, size: size)
                return (
                    "\(rawPrefix)shape-\(index).png", size, size, [ImageAnnotation(label: drawn.label, box: drawn.box)]
                )
            }
            let coco = AnnotationConverter.coco(images: images, categories: classes)
            _ = try await objects.put(
                annotationsKey, data: try JSONEncoder.canonical.encode(coco), contentType: "application/json")
            return
        }
        for (index, label) in labels.enumerated() {
            tasks.append(
                LabelStudioTask(
                    id: index + 1, data: ["image": "/data/local-files/?d=\(rawPrefix)shape-\(index).png"],
                    annotations: [
                        .init(
                            result: AnnotationConverter.labelStudioResults(
                                [ImageAnnotation(label: label)], width: size, height: size))
                    ]))
        }
        _ = try await objects.put(
            annotationsKey, data: try JSONEncoder.canonical.encode(tasks), contentType: "application/json")
    }
}
