import Foundation
import Testing

@testable import PipelineCommon

@Suite("COCO ↔ Label Studio ↔ pipeline annotations")
struct AnnotationConverterTests {
    static let cocoJSON = """
        {
          "images": [
            {"id": 7, "file_name": "cats/1.jpg", "width": 640, "height": 480},
            {"id": 9, "file_name": "dogs/2.jpg", "width": 1000, "height": 333},
            {"id": 11, "file_name": "empty.jpg", "width": 10, "height": 10}
          ],
          "annotations": [
            {"id": 1, "image_id": 7, "category_id": 3, "bbox": [10.5, 20.25, 100, 50], "area": 5000, "iscrowd": 0},
            {"id": 2, "image_id": 7, "category_id": 5, "bbox": [0, 0, 640, 480], "area": 307200, "iscrowd": 0},
            {"id": 3, "image_id": 9, "category_id": 5, "bbox": [333.333, 111.111, 66.667, 22.222], "area": 1481.5, "iscrowd": 0}
          ],
          "categories": [{"id": 3, "name": "cat"}, {"id": 5, "name": "dog \\"quoted\\""}]
        }
        """

    @Test func cocoToLabelStudioAndBackPreservesBoxesAndCategories() throws {
        let coco = try JSONDecoder().decode(COCODataset.self, from: Data(Self.cocoJSON.utf8))
        let annotations = AnnotationConverter.annotations(from: coco)
        #expect(annotations["empty.jpg"] == [], "an image without annotations keeps an empty list")
        #expect(annotations["cats/1.jpg"]?.map(\.label) == ["cat", "dog \"quoted\""])

        // To Label Studio percent coordinates and back, image by image.
        var images: [(fileName: String, width: Int, height: Int, annotations: [ImageAnnotation])] = []
        for image in coco.images {
            let results = AnnotationConverter.labelStudioResults(
                annotations[image.fileName] ?? [], width: image.width, height: image.height)
            let task = LabelStudioTask(data: ["image": image.fileName], annotations: [.init(result: results)])
            let json = try JSONEncoder().encode(task)
            let decoded = try JSONDecoder().decode(LabelStudioTask.self, from: json)
            let back = AnnotationConverter.annotations(from: decoded.annotations?.first?.result ?? [])
            images.append((image.fileName, image.width, image.height, back))
        }
        let first = try #require(images.first?.annotations.first)
        let value = try #require(
            AnnotationConverter.labelStudioResults([first], width: 640, height: 480).first?.value)
        #expect(abs((value.x ?? 0) - 10.5 / 640 * 100) < 1e-9)
        #expect(abs((value.height ?? 0) - 50.0 / 480 * 100) < 1e-9)

        let roundTrip = AnnotationConverter.coco(images: images)
        #expect(roundTrip.categories.map(\.name) == ["cat", "dog \"quoted\""])
        #expect(roundTrip.images.map(\.fileName) == coco.images.map(\.fileName))
        #expect(roundTrip.annotations.count == coco.annotations.count)
        let originalNames = Dictionary(uniqueKeysWithValues: coco.categories.map { ($0.id, $0.name) })
        let roundNames = Dictionary(uniqueKeysWithValues: roundTrip.categories.map { ($0.id, $0.name) })
        for (original, back) in zip(coco.annotations, roundTrip.annotations) {
            #expect(originalNames[original.categoryId] == roundNames[back.categoryId])
            for (a, b) in zip(original.bbox, back.bbox) {
                #expect(abs(a - b) < 0.01, "box \(original.bbox) vs \(back.bbox)")
            }
        }
    }

    @Test func choicesAreWholeImageLabelsAndPredictionsKeepScores() throws {
        let annotations = [
            ImageAnnotation(label: "circle", score: 0.93),
            ImageAnnotation(label: "cat", box: .init(x: 1, y: 2, width: 3, height: 4), score: 0.5),
        ]
        let results = AnnotationConverter.labelStudioResults(annotations, width: 64, height: 64)
        #expect(results.map(\.type) == ["choices", "rectanglelabels"])
        #expect(results[0].value.choices == ["circle"])
        let task = LabelStudioTask(
            data: ["image": "s3://b/k.png"],
            predictions: [.init(modelVersion: "shapes-3", score: 0.93, result: results)])
        let json = String(decoding: try JSONEncoder().encode(task), as: UTF8.self)
        #expect(json.contains("\"model_version\":\"shapes-3\""))
        #expect(json.contains("\"from_name\":\"choice\""))
        #expect(json.contains("\"original_width\":64"))
        #expect(AnnotationConverter.annotations(from: results) == annotations)
    }

    @Test func readsALabelStudioExportWithoutOriginalSizeFromTheImage() throws {
        let export = """
            [{"id": 1, "data": {"image": "/data/upload/1/cat.jpg"},
              "annotations": [{"result": [
                {"type": "rectanglelabels", "from_name": "label", "to_name": "image",
                 "value": {"x": 50, "y": 25, "width": 10, "height": 20, "rotation": 0, "rectanglelabels": ["cat"]}}]}]}]
            """
        let tasks = try JSONDecoder().decode([LabelStudioTask].self, from: Data(export.utf8))
        let result = AnnotationConverter.annotations(
            from: tasks[0].annotations?[0].result ?? [], width: 200, height: 100)
        #expect(result == [ImageAnnotation(label: "cat", box: .init(x: 100, y: 25, width: 20, height: 20))])
        let results = tasks[0].annotations?.first?.result ?? []
        let sizeless = AnnotationConverter.annotations(from: results)
        #expect(sizeless.isEmpty, "no size, no box")
    }
}
