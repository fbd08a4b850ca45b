import Foundation
import TestSupport
import Testing

@testable import IngestStage
@testable import PipelineCommon

@Suite("Augmentation: boxes follow every transform; same seed, same bytes")
struct AugmentationTests {
    static let box = ImageAnnotation(label: "cat", box: BoundingBox(x: 10, y: 20, width: 30, height: 40))

    @Test func boxesFollowFlipsAndRotations() {
        // A 100 × 60 image.
        func moved(_ augmentation: Augmentation) -> BoundingBox? {
            augmentation.transform([Self.box], width: 100, height: 60).first?.box
        }
        #expect(moved(.flipHorizontal) == BoundingBox(x: 60, y: 20, width: 30, height: 40))
        #expect(moved(.flipVertical) == BoundingBox(x: 10, y: 0, width: 30, height: 40))
        #expect(moved(.rotate(quarterTurns: 1)) == BoundingBox(x: 0, y: 10, width: 40, height: 30))
        #expect(moved(.rotate(quarterTurns: 2)) == BoundingBox(x: 60, y: 0, width: 30, height: 40))
        #expect(moved(.rotate(quarterTurns: 3)) == BoundingBox(x: 20, y: 60, width: 40, height: 30))
        #expect(Augmentation.rotate(quarterTurns: 1).outputSize(width: 100, height: 60) == (60, 100))
        #expect(moved(.tone(brightness: 10, contrast: 1.1)) == Self.box.box)
        // Four quarter turns bring the box home.
        var annotations = [Self.box]
        var size = (width: 100, height: 60)
        for _ in 0..<4 {
            annotations = Augmentation.rotate(quarterTurns: 1).transform(
                annotations, width: size.width, height: size.height)
            size = Augmentation.rotate(quarterTurns: 1).outputSize(width: size.width, height: size.height)
        }
        #expect(annotations == [Self.box])
        // Whole-image labels pass through.
        #expect(
            Augmentation.flipHorizontal.transform([ImageAnnotation(label: "circle")], width: 5, height: 5) == [
                ImageAnnotation(label: "circle")
            ])
    }

    @Test func cropsClipBoxesAndDropThoseMostlyCutAway() {
        let crop = Augmentation.crop(BoundingBox(x: 25, y: 0, width: 50, height: 60))
        let kept = crop.transform([Self.box], width: 100, height: 60)
        #expect(kept.first?.box == BoundingBox(x: 0, y: 20, width: 15, height: 40), "clipped to the kept region")
        #expect(crop.transform([Self.box], width: 100, height: 60, minimumVisible: 0.6).isEmpty, "half visible < 60 %")
        let away = Augmentation.crop(BoundingBox(x: 50, y: 0, width: 50, height: 60))
        #expect(away.transform([Self.box], width: 100, height: 60).isEmpty, "outside the crop")
    }

    @Test func theSameSeedGivesTheSamePlanAndOtherSeedsDiffer() {
        let plan = AugmentationPlan(
            copies: 8, flipHorizontal: true, flipVertical: true, rotate: true, brightnessJitter: 20,
            contrastJitter: 0.2, cropMinimumArea: 0.5, seed: 42)
        let first = plan.transforms(contentHash: "abc", width: 640, height: 480)
        #expect(first == plan.transforms(contentHash: "abc", width: 640, height: 480))
        var other = plan
        other.seed = 43
        #expect(first != other.transforms(contentHash: "abc", width: 640, height: 480))
        for steps in first {
            if case .crop(let region) = steps.first {
                #expect(
                    region.x >= 0 && region.y >= 0 && region.x + region.width <= 640 && region.y + region.height <= 480)
                #expect(region.area >= 0.5 * 640 * 480 * 0.8, "keeps about the minimum area or more")
            }
        }
    }

    @Test func pixelsMoveWhereTheBoxesSayAndOutputIsDeterministic() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        // A black 100 × 60 image with a white rectangle exactly where the box is.
        try TestImages.vips(["black", dir.file("black.v"), "100", "60"])
        try TestImages.vips(["cast", dir.file("black.v"), dir.file("black8.v"), "uchar"])
        // Drawing works in place on the vips format only; then save as PNG.
        try TestImages.vips(["draw_rect", dir.file("black8.v"), "255", "10", "20", "30", "40", "--fill"])
        try TestImages.vips(["copy", dir.file("black8.v"), dir.file("canvas.png")])
        let augmenter = ImageAugmenter()
        for steps: [Augmentation] in [
            [.flipHorizontal], [.rotate(quarterTurns: 1)], [.rotate(quarterTurns: 3), .flipVertical],
            [.crop(BoundingBox(x: 5, y: 10, width: 60, height: 45))],
        ] {
            var annotations = [Self.box]
            var size = (width: 100, height: 60)
            for step in steps {
                annotations = step.transform(annotations, width: size.width, height: size.height)
                size = step.outputSize(width: size.width, height: size.height)
            }
            let output = dir.file("out-\(steps.map(\.description).joined(separator: "-")).png")
            try await augmenter.apply(steps, input: dir.file("canvas.png"), output: output)
            let info = try await ImageInspector().probe(output)
            #expect(info.width == size.width && info.height == size.height, "\(steps)")
            let box = try #require(annotations.first?.box)
            #expect(try Self.mean(output, box) == 255, "inside the moved box, \(steps)")
            #expect(
                try Self.mean(output, BoundingBox(x: 0, y: 0, width: Double(size.width), height: Double(size.height)))
                    < 255)

            let again = output + ".again.png"
            try await augmenter.apply(steps, input: dir.file("canvas.png"), output: again)
            #expect(try Data(contentsOf: URL(fileURLWithPath: output)) == Data(contentsOf: URL(fileURLWithPath: again)))
        }
    }

    /// The mean pixel value of `box` in the image at `path`, measured by the vips tool.
    static func mean(_ path: String, _ box: BoundingBox) throws -> Double {
        let region = path + ".region.v"
        try TestImages.vips([
            "extract_area", path, region, "\(Int(box.x))", "\(Int(box.y))", "\(Int(box.width))", "\(Int(box.height))",
        ])
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/vips")
        process.arguments = ["avg", region]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        process.waitUntilExit()
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return Double(text.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
    }
}
