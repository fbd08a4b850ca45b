import Foundation

/// One named size variant that normalize makes of every image: a box, how the image fits
/// it, and how it is encoded.
///
/// Written in YAML as a list of `{name, size | width+height, fit, format, quality, background}`,
/// or compactly (the `PIPELINE_NORMALIZE_VARIANTS` form) as
/// `name:size[:fit[:format[:quality]]]` joined by `;`, where size is `N` (the long edge) or
/// `WxH`, and `pad#rrggbb` sets the padding colour: `train:64x64:pad:png;preview:512:contain:webp:80`.
public struct VariantSpec: Sendable, Equatable, Codable {
    public enum Fit: String, Sendable, Codable, CaseIterable {
        /// Scaled down to fit inside the box, aspect kept; never enlarged (a 300 px image stays
        /// 300 px in a 1024 box), as thumbnailers do.
        case contain
        /// Scaled to cover the box, aspect kept, centre cropped to exactly the box.
        case cover
        /// Stretched to exactly the box.
        case fill
        /// Contained, then centred on a canvas of exactly the box in the padding colour.
        case pad
    }

    public enum Format: String, Sendable, Codable, CaseIterable {
        case jpeg, webp, png

        public var fileExtension: String { self == .jpeg ? "jpg" : rawValue }
    }

    public var name: String
    public var width: Int
    public var height: Int
    public var fit: Fit
    public var format: Format
    /// 1…100 for JPEG and WebP; ignored for PNG.
    public var quality: Int
    /// RGB padding (and JPEG flattening) colour, 0…255.
    public var background: [Double]

    public init(
        name: String, width: Int, height: Int, fit: Fit = .contain, format: Format = .jpeg, quality: Int = 85,
        background: [Double] = [0, 0, 0]
    ) {
        self.name = name
        self.width = width
        self.height = height
        self.fit = fit
        self.format = format
        self.quality = quality
        self.background = background
    }

    /// The compact form of a list of variants.
    public static func compact(_ variants: [VariantSpec]) -> String {
        variants.map { variant in
            let size = variant.width == variant.height ? "\(variant.width)" : "\(variant.width)x\(variant.height)"
            var fit = variant.fit.rawValue
            if variant.fit == .pad, variant.background != [0, 0, 0] {
                fit += "#" + variant.background.map { String(format: "%02x", Int($0)) }.joined()
            }
            return [variant.name, size, fit, variant.format.rawValue, "\(variant.quality)"].joined(separator: ":")
        }
        .joined(separator: ";")
    }

    /// Parses the compact form; the error names the variant and the field.
    public static func parseList(_ text: String) -> Result<[VariantSpec], VariantSpecError> {
        var variants: [VariantSpec] = []
        let entries = text.split(separator: ";", omittingEmptySubsequences: true).map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        guard !entries.isEmpty else { return .failure(.init("at least one variant, e.g. train:64x64:pad:png")) }
        for (index, entry) in entries.enumerated() {
            let fields = entry.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            let label = "variant \(index + 1)" + (fields.first.map { " (\($0))" } ?? "")
            guard fields.count >= 2, fields.count <= 5 else {
                return .failure(.init("\(label): name:size[:fit[:format[:quality]]], found \"\(entry)\""))
            }
            let name = fields[0]
            guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) else {
                return .failure(.init("\(label): the name must be letters, digits, - or _"))
            }
            guard !variants.contains(where: { $0.name == name }) else {
                return .failure(.init("\(label): the name \(name) is used twice"))
            }
            let dimensions = fields[1].lowercased().split(separator: "x", omittingEmptySubsequences: false)
            guard (1...2).contains(dimensions.count), let width = Int(dimensions[0]),
                let height = Int(dimensions.count == 2 ? dimensions[1] : dimensions[0]),
                (1...16_384).contains(width), (1...16_384).contains(height)
            else {
                return .failure(
                    .init("\(label): size \"\(fields[1])\" must be a long edge N or a box WxH, each 1 to 16384"))
            }
            var spec = VariantSpec(name: name, width: width, height: height)
            if fields.count > 2, !fields[2].isEmpty {
                let parts = fields[2].split(separator: "#", maxSplits: 1).map(String.init)
                guard let fit = Fit(rawValue: parts[0].lowercased()) else {
                    return .failure(
                        .init(
                            "\(label): fit \"\(fields[2])\" is not one of \(Fit.allCases.map(\.rawValue).joined(separator: ", "))"
                        ))
                }
                spec.fit = fit
                if parts.count == 2 {
                    guard fit == .pad, parts[1].count == 6, let rgb = UInt32(parts[1], radix: 16) else {
                        return .failure(.init("\(label): a colour is written pad#rrggbb"))
                    }
                    spec.background = [Double((rgb >> 16) & 0xff), Double((rgb >> 8) & 0xff), Double(rgb & 0xff)]
                }
            }
            if fields.count > 3, !fields[3].isEmpty {
                guard let format = Format(rawValue: fields[3].lowercased()) else {
                    return .failure(
                        .init(
                            "\(label): format \"\(fields[3])\" is not one of \(Format.allCases.map(\.rawValue).joined(separator: ", "))"
                        ))
                }
                spec.format = format
            }
            if fields.count > 4, !fields[4].isEmpty {
                guard let quality = Int(fields[4]), (1...100).contains(quality) else {
                    return .failure(.init("\(label): quality \"\(fields[4])\" must be 1 to 100"))
                }
                spec.quality = quality
            }
            variants.append(spec)
        }
        return .success(variants)
    }
}

public struct VariantSpecError: Error, Sendable, Equatable, CustomStringConvertible {
    public let reason: String
    init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}

/// Where an image of `sourceWidth` × `sourceHeight` (as displayed) lands in a variant: the
/// size it is resampled to, and the offset of that in the output (negative for a crop).
public struct VariantGeometry: Sendable, Equatable {
    public let width: Int
    public let height: Int
    public let scaledWidth: Int
    public let scaledHeight: Int
    public let offsetX: Int
    public let offsetY: Int

    /// A geometry given by its numbers (tests, and resizers that compute their own).
    public init(width: Int, height: Int, scaled: (width: Int, height: Int), offset: (x: Int, y: Int)) {
        self.width = width
        self.height = height
        (scaledWidth, scaledHeight) = scaled
        (offsetX, offsetY) = offset
    }

    public init(sourceWidth: Int, sourceHeight: Int, spec: VariantSpec) {
        let w = Double(sourceWidth)
        let h = Double(sourceHeight)
        let boxW = Double(spec.width)
        let boxH = Double(spec.height)
        func scaled(_ factor: Double) -> (Int, Int) {
            (max(1, Int((w * factor).rounded())), max(1, Int((h * factor).rounded())))
        }
        switch spec.fit {
        case .contain:
            (scaledWidth, scaledHeight) = scaled(min(boxW / w, boxH / h, 1))
            (width, height) = (scaledWidth, scaledHeight)
            (offsetX, offsetY) = (0, 0)
        case .pad:
            let (sw, sh) = scaled(min(boxW / w, boxH / h))
            (scaledWidth, scaledHeight) = (min(sw, spec.width), min(sh, spec.height))
            (width, height) = (spec.width, spec.height)
            (offsetX, offsetY) = ((spec.width - scaledWidth) / 2, (spec.height - scaledHeight) / 2)
        case .cover:
            let (sw, sh) = scaled(max(boxW / w, boxH / h))
            (scaledWidth, scaledHeight) = (max(sw, spec.width), max(sh, spec.height))
            (width, height) = (spec.width, spec.height)
            (offsetX, offsetY) = (-((scaledWidth - spec.width) / 2), -((scaledHeight - spec.height) / 2))
        case .fill:
            (scaledWidth, scaledHeight) = (spec.width, spec.height)
            (width, height) = (spec.width, spec.height)
            (offsetX, offsetY) = (0, 0)
        }
    }

    /// `annotations` (pixels of the source as displayed) in the variant's pixels: scaled,
    /// offset, clipped to the output; boxes left with under `minimumVisible` of their area
    /// or under one pixel on a side are dropped. Whole-image labels stay as they are.
    public func transform(
        _ annotations: [ImageAnnotation], sourceWidth: Int, sourceHeight: Int, minimumVisible: Double = 0.3
    ) -> [ImageAnnotation] {
        let sx = Double(scaledWidth) / Double(sourceWidth)
        let sy = Double(scaledHeight) / Double(sourceHeight)
        return annotations.compactMap { annotation in
            guard let box = annotation.box else { return annotation }
            let x0 = box.x * sx + Double(offsetX)
            let y0 = box.y * sy + Double(offsetY)
            let x1 = x0 + box.width * sx
            let y1 = y0 + box.height * sy
            let left = max(0, x0)
            let top = max(0, y0)
            let right = min(Double(width), x1)
            let bottom = min(Double(height), y1)
            let fullArea = (x1 - x0) * (y1 - y0)
            guard right - left >= 1, bottom - top >= 1, fullArea > 0,
                (right - left) * (bottom - top) / fullArea >= minimumVisible
            else { return nil }
            var moved = annotation
            moved.box = BoundingBox(x: left, y: top, width: right - left, height: bottom - top)
            return moved
        }
    }
}
