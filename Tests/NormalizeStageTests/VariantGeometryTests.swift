import Foundation
import PipelineCommon
import Testing

@Suite("Variant geometry and box rescaling for every fit mode")
struct VariantGeometryTests {
    let box = BoundingBox(x: 100, y: 50, width: 200, height: 100)

    @Test func containScalesTheLongEdgeAndBoxesWithIt() {
        let geometry = VariantGeometry(
            sourceWidth: 800, sourceHeight: 600, spec: VariantSpec(name: "v", width: 400, height: 400))
        #expect(geometry == VariantGeometry.expected(400, 300, scaled: (400, 300), offset: (0, 0)))
        let moved = geometry.transform([ImageAnnotation(label: "a", box: box)], sourceWidth: 800, sourceHeight: 600)
        #expect(moved == [ImageAnnotation(label: "a", box: BoundingBox(x: 50, y: 25, width: 100, height: 50))])
    }

    @Test func padCentresTheContainedImageAndOffsetsBoxes() {
        let geometry = VariantGeometry(
            sourceWidth: 800, sourceHeight: 600, spec: VariantSpec(name: "v", width: 64, height: 64, fit: .pad))
        // 800×600 → 64×48, centred vertically: 8 px above and below.
        #expect(geometry == VariantGeometry.expected(64, 64, scaled: (64, 48), offset: (0, 8)))
        let moved = geometry.transform([ImageAnnotation(label: "a", box: box)], sourceWidth: 800, sourceHeight: 600)
        #expect(moved == [ImageAnnotation(label: "a", box: BoundingBox(x: 8, y: 12, width: 16, height: 8))])
    }

    @Test func coverCropsTheCentreAndClipsOrDropsBoxes() {
        let geometry = VariantGeometry(
            sourceWidth: 800, sourceHeight: 400, spec: VariantSpec(name: "v", width: 100, height: 100, fit: .cover))
        // 800×400 → 200×100, then the middle 100 columns: 50 cut on each side.
        #expect(geometry == VariantGeometry.expected(100, 100, scaled: (200, 100), offset: (-50, 0)))
        let boxes = [
            ImageAnnotation(label: "inside", box: BoundingBox(x: 300, y: 100, width: 200, height: 100)),
            ImageAnnotation(label: "clipped", box: BoundingBox(x: 140, y: 0, width: 100, height: 100)),
            ImageAnnotation(label: "gone", box: BoundingBox(x: 0, y: 0, width: 100, height: 100)),
            ImageAnnotation(label: "whole image"),
        ]
        let moved = geometry.transform(boxes, sourceWidth: 800, sourceHeight: 400)
        #expect(
            moved == [
                ImageAnnotation(label: "inside", box: BoundingBox(x: 25, y: 25, width: 50, height: 25)),
                ImageAnnotation(label: "clipped", box: BoundingBox(x: 0, y: 0, width: 10, height: 25)),
                ImageAnnotation(label: "whole image"),
            ])
    }

    @Test func fillStretchesEachAxisOnItsOwn() {
        let geometry = VariantGeometry(
            sourceWidth: 800, sourceHeight: 600, spec: VariantSpec(name: "v", width: 100, height: 300, fit: .fill))
        #expect(geometry == VariantGeometry.expected(100, 300, scaled: (100, 300), offset: (0, 0)))
        let moved = geometry.transform([ImageAnnotation(label: "a", box: box)], sourceWidth: 800, sourceHeight: 600)
        #expect(moved == [ImageAnnotation(label: "a", box: BoundingBox(x: 12.5, y: 25, width: 25, height: 50))])
    }

    @Test func oddSizesNeverCollapseToZero() {
        for (width, height) in [(1, 1), (1, 10_000), (10_000, 1), (3, 7)] {
            for fit in VariantSpec.Fit.allCases {
                let spec = VariantSpec(name: "v", width: 64, height: 48, fit: fit)
                let geometry = VariantGeometry(sourceWidth: width, sourceHeight: height, spec: spec)
                #expect(geometry.width >= 1 && geometry.height >= 1 && geometry.width <= 64 && geometry.height <= 64)
                #expect(geometry.scaledWidth >= 1 && geometry.scaledHeight >= 1)
                if fit != .contain {
                    #expect(geometry.width == 64 && geometry.height == 48, "\(fit) \(width)×\(height)")
                }
            }
        }
    }

    @Test func compactVariantListsParseAndSayWhatIsWrong() throws {
        let parsed = try VariantSpec.parseList("train:64x64:pad#808080:png;preview:512:contain:webp:80;t:128").get()
        #expect(parsed.map(\.name) == ["train", "preview", "t"])
        #expect(parsed[0].background == [128, 128, 128] && parsed[0].format == .png)
        #expect(parsed[1].width == 512 && parsed[1].height == 512 && parsed[1].quality == 80)
        #expect(try VariantSpec.parseList(VariantSpec.compact(parsed)).get() == parsed)
        for (text, expected) in [
            ("a:64:stretch", "fit \"stretch\" is not one of contain, cover, fill, pad"),
            ("a:0", "size \"0\""), ("a:64:contain:gif", "format \"gif\""), ("a:64:pad:jpeg:0", "quality \"0\""),
            ("a:64;a:32", "used twice"), ("", "at least one variant"),
        ] {
            guard case .failure(let error) = VariantSpec.parseList(text) else {
                Issue.record("\(text) parsed")
                continue
            }
            #expect(error.reason.contains(expected), "\(text): \(error.reason)")
        }
    }
}

extension VariantGeometry {
    /// The geometry a test expects, built through the public initializer's own numbers.
    static func expected(_ width: Int, _ height: Int, scaled: (Int, Int), offset: (Int, Int)) -> VariantGeometry {
        VariantGeometry(width: width, height: height, scaled: scaled, offset: offset)
    }
}
