import Foundation

/// COCO ↔ Label Studio ↔ the pipeline's ``ImageAnnotation``s, following Label Studio's own
/// converter: percent coordinates are `pixels / original size × 100`, categories are
/// numbered from 0 in label order, and an image without annotations keeps an empty list.
public enum AnnotationConverter {
    /// The names in the labeling config the project ships (`<RectangleLabels name="label"
    /// toName="image">`, `<Choices name="choice" toName="image">`).
    public static let rectangleFromName = "label"
    public static let choiceFromName = "choice"
    public static let imageToName = "image"

    // MARK: - COCO

    /// Annotations of every image of a COCO file, keyed by its `file_name`.
    public static func annotations(from coco: COCODataset) -> [String: [ImageAnnotation]] {
        let names = Dictionary(coco.categories.map { ($0.id, $0.name) }, uniquingKeysWith: { first, _ in first })
        let byImage = Dictionary(grouping: coco.annotations, by: \.imageId)
        var result: [String: [ImageAnnotation]] = [:]
        for image in coco.images {
            result[image.fileName] = (byImage[image.id] ?? []).sorted { $0.id < $1.id }.compactMap { annotation in
                guard annotation.bbox.count == 4 else { return nil }
                return ImageAnnotation(
                    label: names[annotation.categoryId] ?? "category \(annotation.categoryId)",
                    box: BoundingBox(
                        x: annotation.bbox[0], y: annotation.bbox[1], width: annotation.bbox[2],
                        height: annotation.bbox[3]),
                    score: annotation.score)
            }
        }
        return result
    }

    /// A COCO file for images (file name, width, height) and their annotations; categories
    /// are numbered from 0 in sorted label order unless `categories` gives the order.
    public static func coco(
        images: [(fileName: String, width: Int, height: Int, annotations: [ImageAnnotation])],
        categories: [String]? = nil
    ) -> COCODataset {
        let labels = categories ?? Array(Set(images.flatMap { $0.annotations.map(\.label) })).sorted()
        let ids = Dictionary(
            labels.enumerated().map { ($0.element, $0.offset) }, uniquingKeysWith: { first, _ in first })
        var cocoImages: [COCODataset.Image] = []
        var cocoAnnotations: [COCODataset.Annotation] = []
        for (index, image) in images.enumerated() {
            cocoImages.append(.init(id: index, fileName: image.fileName, width: image.width, height: image.height))
            for annotation in image.annotations {
                guard let box = annotation.box, let category = ids[annotation.label] else { continue }
                cocoAnnotations.append(
                    .init(
                        id: cocoAnnotations.count, imageId: index, categoryId: category,
                        bbox: [box.x, box.y, box.width, box.height], area: box.area, score: annotation.score))
            }
        }
        return COCODataset(
            images: cocoImages, annotations: cocoAnnotations,
            categories: labels.enumerated().map { .init(id: $0.offset, name: $0.element) })
    }

    // MARK: - Label Studio

    /// Results for one image: a `rectanglelabels` region per box, a `choices` result per
    /// whole-image label, in percent of `width` × `height`.
    public static func labelStudioResults(_ annotations: [ImageAnnotation], width: Int, height: Int) -> [LabelStudioTask
        .Result]
    {
        annotations.enumerated().map { index, annotation in
            if let box = annotation.box {
                return LabelStudioTask.Result(
                    id: "r\(index)", type: "rectanglelabels", fromName: rectangleFromName, toName: imageToName,
                    originalWidth: width, originalHeight: height,
                    value: .init(
                        x: box.x / Double(width) * 100, y: box.y / Double(height) * 100,
                        width: box.width / Double(width) * 100, height: box.height / Double(height) * 100, rotation: 0,
                        rectanglelabels: [annotation.label]),
                    score: annotation.score)
            }
            return LabelStudioTask.Result(
                id: "r\(index)", type: "choices", fromName: choiceFromName, toName: imageToName, originalWidth: width,
                originalHeight: height, value: .init(choices: [annotation.label]), score: annotation.score)
        }
    }

    /// The annotations of Label Studio results, in absolute pixels of the image they were
    /// drawn on (`original_width/height`, or the given size when the export omits them).
    public static func annotations(from results: [LabelStudioTask.Result], width: Int? = nil, height: Int? = nil)
        -> [ImageAnnotation]
    {
        results.flatMap { result -> [ImageAnnotation] in
            switch result.type {
            case "rectanglelabels":
                guard let imageWidth = result.originalWidth ?? width, let imageHeight = result.originalHeight ?? height,
                    let x = result.value.x, let y = result.value.y, let w = result.value.width,
                    let h = result.value.height
                else { return [] }
                let box = BoundingBox(
                    x: x * Double(imageWidth) / 100, y: y * Double(imageHeight) / 100,
                    width: w * Double(imageWidth) / 100,
                    height: h * Double(imageHeight) / 100)
                return (result.value.rectanglelabels ?? []).map {
                    ImageAnnotation(label: $0, box: box, score: result.score)
                }
            case "choices":
                return (result.value.choices ?? []).map { ImageAnnotation(label: $0, box: nil, score: result.score) }
            default:
                return []
            }
        }
    }
}
