import Foundation
import PipelineCommon
import Testing

@testable import IngestStage

@Suite("Annotation files matched to images by key or file name")
struct AnnotationIndexTests {
    @Test func labelStudioExportsMatchByTheirImageReference() throws {
        let export = """
            [
              {"id": 1, "data": {"image": "s3://bucket/raw/a.jpg", "extra": 3},
               "annotations": [{"was_cancelled": true, "result": []},
                               {"result": [{"type": "rectanglelabels", "from_name": "label", "to_name": "image",
                                            "original_width": 200, "original_height": 100,
                                            "value": {"x": 10, "y": 20, "width": 50, "height": 30,
                                                      "rectanglelabels": ["dog"]}}]}]},
              {"id": 2, "data": {"image": "/data/local-files/?d=raw/sub/b.png"},
               "annotations": [{"result": [{"type": "choices", "from_name": "choice", "to_name": "image",
                                            "value": {"choices": ["indoor"]}}]}]},
              {"id": 3, "data": {"image": "/data/upload/4/0a1b2c3d-c.jpg"},
               "predictions": [{"model_version": "m1", "score": 0.9,
                                "result": [{"type": "choices", "from_name": "choice", "to_name": "image",
                                            "value": {"choices": ["outdoor"]}, "score": 0.9}]}]}
            ]
            """
        var index = AnnotationIndex()
        try index.add(json: Data(export.utf8), from: "annotations/export.json")
        #expect(index.sources == [.init(key: "annotations/export.json", format: "label-studio", images: 3)])
        let dog = try #require(index.annotations(for: "raw/a.jpg", rawPrefix: "raw/"))
        #expect(dog == [ImageAnnotation(label: "dog", box: BoundingBox(x: 20, y: 20, width: 100, height: 30))])
        #expect(index.annotations(for: "raw/sub/b.png", rawPrefix: "raw/") == [ImageAnnotation(label: "indoor")])
        #expect(
            index.annotations(for: "raw/elsewhere/c.jpg", rawPrefix: "raw/")
                == [ImageAnnotation(label: "outdoor", score: 0.9)], "upload names match without their prefix")
        #expect(index.annotations(for: "raw/unknown.jpg", rawPrefix: "raw/") == nil)
    }

    @Test func cocoFileNamesMatchKeysInsideTheRawPrefixAndAmbiguousNamesDoNot() throws {
        let coco = COCODataset(
            images: [
                .init(id: 1, fileName: "pets/cat.jpg", width: 10, height: 10),
                .init(id: 2, fileName: "a/same.jpg", width: 10, height: 10),
                .init(id: 3, fileName: "b/same.jpg", width: 10, height: 10),
            ],
            annotations: [.init(id: 1, imageId: 1, categoryId: 0, bbox: [1, 2, 3, 4], area: 12)],
            categories: [.init(id: 0, name: "cat")])
        var index = AnnotationIndex()
        try index.add(json: try JSONEncoder().encode(coco), from: "annotations/coco.json")
        let cat = [ImageAnnotation(label: "cat", box: BoundingBox(x: 1, y: 2, width: 3, height: 4))]
        #expect(index.annotations(for: "raw/pets/cat.jpg", rawPrefix: "raw/") == cat)
        #expect(index.annotations(for: "raw/other/cat.jpg", rawPrefix: "raw/") == cat, "by file name")
        #expect(index.annotations(for: "raw/a/same.jpg", rawPrefix: "raw/") == [])
        #expect(index.annotations(for: "raw/c/same.jpg", rawPrefix: "raw/") == nil, "two images share that name")
    }

    @Test func unusableFilesSayWhatIsWrongWithThem() {
        var index = AnnotationIndex()
        for (text, expected) in [
            ("{nope", "not JSON"), (#"{"info": {}}"#, "neither a COCO"),
            (#"{"images": [{"id": 1, "width": 4, "height": 4}], "annotations": []}"#, "missing .images[0].file_name"),
            (#"[{"data": {"image": "a.jpg"}, "annotations": [{"result": [{"type": 3}]}]}]"#, "Label Studio export"),
        ] {
            do {
                try index.add(json: Data(text.utf8), from: "annotations/bad.json")
                Issue.record("\(text) was accepted")
            } catch {
                #expect(error.description.contains("annotations/bad.json"))
                #expect(error.description.contains(expected), "\(error.description)")
            }
        }
    }
}
