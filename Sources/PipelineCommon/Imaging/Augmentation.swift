/// One transform applied to an image and its boxes. Geometry moves boxes with the pixels;
/// tone changes (brightness, contrast) leave them where they are.
public enum Augmentation: Sendable, Equatable, Codable, CustomStringConvertible {
    case flipHorizontal
    case flipVertical
    /// Clockwise quarter turns: 1 = 90°, 2 = 180°, 3 = 270°.
    case rotate(quarterTurns: Int)
    /// Keep the region `box` (absolute pixels of the input).
    case crop(BoundingBox)
    /// Pixels × `contrast` + `brightness` (then clamped to 0…255).
    case tone(brightness: Double, contrast: Double)

    public var description: String {
        switch self {
        case .flipHorizontal: "hflip"
        case .flipVertical: "vflip"
        case .rotate(let turns): "rot\(turns * 90)"
        case .crop(let box): "crop\(Int(box.x)),\(Int(box.y)),\(Int(box.width))x\(Int(box.height))"
        case .tone(let brightness, let contrast): "tone\(brightness),\(contrast)"
        }
    }

    /// The image size after this transform.
    public func outputSize(width: Int, height: Int) -> (width: Int, height: Int) {
        switch self {
        case .rotate(let turns) where turns % 2 == 1: (height, width)
        case .crop(let box): (Int(box.width), Int(box.height))
        default: (width, height)
        }
    }

    /// `annotations` moved into the transformed image of an input `width` × `height`.
    /// A crop clips boxes to the kept region and drops those left with less than
    /// `minimumVisible` of their area (or under one pixel on a side).
    public func transform(
        _ annotations: [ImageAnnotation], width: Int, height: Int, minimumVisible: Double = 0.3
    ) -> [ImageAnnotation] {
        let w = Double(width)
        let h = Double(height)
        return annotations.compactMap { annotation in
            guard let box = annotation.box else { return annotation }
            var moved = annotation
            switch self {
            case .flipHorizontal:
                moved.box = BoundingBox(x: w - box.x - box.width, y: box.y, width: box.width, height: box.height)
            case .flipVertical:
                moved.box = BoundingBox(x: box.x, y: h - box.y - box.height, width: box.width, height: box.height)
            case .rotate(let turns):
                switch ((turns % 4) + 4) % 4 {
                case 1:
                    moved.box = BoundingBox(x: h - box.y - box.height, y: box.x, width: box.height, height: box.width)
                case 2:
                    moved.box = BoundingBox(
                        x: w - box.x - box.width, y: h - box.y - box.height, width: box.width, height: box.height)
                case 3:
                    moved.box = BoundingBox(x: box.y, y: w - box.x - box.width, width: box.height, height: box.width)
                default: break
                }
            case .crop(let region):
                let left = max(box.x, region.x)
                let top = max(box.y, region.y)
                let right = min(box.x + box.width, region.x + region.width)
                let bottom = min(box.y + box.height, region.y + region.height)
                guard right - left >= 1, bottom - top >= 1, box.area > 0,
                    (right - left) * (bottom - top) / box.area >= minimumVisible
                else { return nil }
                moved.box = BoundingBox(
                    x: left - region.x, y: top - region.y, width: right - left, height: bottom - top)
            case .tone:
                break
            }
            return moved
        }
    }
}
