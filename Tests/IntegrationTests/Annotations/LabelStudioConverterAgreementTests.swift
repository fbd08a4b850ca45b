import Foundation
import TestSupport
import Testing

@testable import PipelineCommon

/// Label Studio's own converter (label-studio-converter from PyPI) as the judge: tasks this
/// project writes, converted to COCO by it, give the boxes and categories ours gives.
@Suite(
    "Annotations agree with Label Studio's converter",
    .enabled(if: Services.available("PIPELINE_TEST_PYTHON"), Services.skipReason))
struct LabelStudioConverterAgreementTests {
    @Test func tasksConvertToTheSameCOCOAsLabelStudioDoes() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let labels = ["cat", "dog", "bird & co"]
        let images: [(fileName: String, width: Int, height: Int, annotations: [ImageAnnotation])] = [
            (
                "a.jpg", 640, 480,
                [
                    ImageAnnotation(label: "cat", box: .init(x: 10.5, y: 20.25, width: 100, height: 50)),
                    ImageAnnotation(label: "dog", box: .init(x: 300, y: 200, width: 339.5, height: 279.75)),
                ]
            ),
            (
                "b.jpg", 1000, 333,
                [ImageAnnotation(label: "bird & co", box: .init(x: 333.333, y: 111.111, width: 66.667, height: 22.222))]
            ),
            ("c.jpg", 64, 64, [ImageAnnotation(label: "cat", box: .init(x: 0, y: 0, width: 64, height: 64))]),
        ]
        let tasks = images.enumerated().map { index, image in
            LabelStudioTask(
                id: index + 1, data: ["image": "/data/\(image.fileName)"],
                annotations: [
                    .init(
                        result: AnnotationConverter.labelStudioResults(
                            image.annotations, width: image.width, height: image.height))
                ])
        }
        let export = dir.file("export.json")
        try JSONEncoder().encode(tasks).write(to: URL(fileURLWithPath: export))
        let config = dir.file("config.xml")
        try LabelingConfig.xml(labels: labels).write(toFile: config, atomically: true, encoding: .utf8)

        let python = try Services.value("PIPELINE_TEST_PYTHON")
        let script = Services.packageRoot.appendingPathComponent("scripts/peers/ls_to_coco.py").path
        let run = try await Command.run(
            python, [script, config, export, dir.file("out")], environment: ["PATH": "/usr/bin:/bin", "HOME": dir.path])
        try #require(run.status == 0, "label-studio-converter failed: \(run.stderr.suffix(2000))")
        let theirs = try JSONDecoder().decode(COCODataset.self, from: Data(run.stdout.utf8))
        let ours = AnnotationConverter.coco(images: images, categories: labels)

        let theirNames = Dictionary(uniqueKeysWithValues: theirs.categories.map { ($0.id, $0.name) })
        let ourNames = Dictionary(uniqueKeysWithValues: ours.categories.map { ($0.id, $0.name) })
        #expect(Set(theirNames.values) == Set(labels))
        #expect(theirs.annotations.count == ours.annotations.count)
        #expect(theirs.images.map { [$0.width, $0.height] } == ours.images.map { [$0.width, $0.height] })
        for (their, our) in zip(theirs.annotations, ours.annotations) {
            #expect(theirNames[their.categoryId] == ourNames[our.categoryId])
            #expect(their.imageId == our.imageId)
            for (a, b) in zip(their.bbox, our.bbox) {
                #expect(abs(a - b) < 0.01, "theirs \(their.bbox) ours \(our.bbox)")
            }
        }
    }
}
