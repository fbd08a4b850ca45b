/// Which augmentations to apply, drawn from a seeded generator so that the same seed, image
/// and settings always give the same copies.
public struct AugmentationPlan: Sendable, Equatable {
    public var copies: Int
    public var flipHorizontal: Bool
    public var flipVertical: Bool
    public var rotate: Bool
    /// ± this much brightness (0…255 scale) and ± this fraction of contrast; 0 for none.
    public var brightnessJitter: Double
    public var contrastJitter: Double
    /// Crop to a random region keeping at least this fraction of the area; nil for no crops.
    public var cropMinimumArea: Double?
    public var seed: UInt64

    public init(
        copies: Int, flipHorizontal: Bool = true, flipVertical: Bool = false, rotate: Bool = false,
        brightnessJitter: Double = 0, contrastJitter: Double = 0, cropMinimumArea: Double? = nil, seed: UInt64
    ) {
        self.copies = copies
        self.flipHorizontal = flipHorizontal
        self.flipVertical = flipVertical
        self.rotate = rotate
        self.brightnessJitter = brightnessJitter
        self.contrastJitter = contrastJitter
        self.cropMinimumArea = cropMinimumArea
        self.seed = seed
    }

    /// The transforms of each copy of the image identified by `contentHash`, in order.
    public func transforms(contentHash: String, width: Int, height: Int) -> [[Augmentation]] {
        (0..<copies).map { copy in
            var random = SplitMix64(seed: seed ^ Self.fnv1a(contentHash) ^ UInt64(copy) &* 0x9E37_79B9_7F4A_7C15)
            var steps: [Augmentation] = []
            var size = (width: width, height: height)
            if let minimum = cropMinimumArea, minimum < 1 {
                let area = minimum + (1 - minimum) * random.unit()
                let aspect = (random.unit() - 0.5) * 0.5
                let cropWidth = max(
                    1, min(size.width, Int((Double(size.width) * area.squareRoot() * (1 + aspect)).rounded())))
                let cropHeight = max(
                    1, min(size.height, Int((Double(size.width * size.height) * area / Double(cropWidth)).rounded())))
                let x = Int(random.unit() * Double(size.width - cropWidth))
                let y = Int(random.unit() * Double(size.height - cropHeight))
                let crop = Augmentation.crop(
                    BoundingBox(x: Double(x), y: Double(y), width: Double(cropWidth), height: Double(cropHeight)))
                steps.append(crop)
                size = crop.outputSize(width: size.width, height: size.height)
            }
            if flipHorizontal, random.unit() < 0.5 { steps.append(.flipHorizontal) }
            if flipVertical, random.unit() < 0.5 { steps.append(.flipVertical) }
            if rotate {
                let turns = Int(random.unit() * 4) % 4
                if turns > 0 { steps.append(.rotate(quarterTurns: turns)) }
            }
            if brightnessJitter > 0 || contrastJitter > 0 {
                steps.append(
                    .tone(
                        brightness: ((random.unit() * 2 - 1) * brightnessJitter).rounded(),
                        contrast: 1 + ((random.unit() * 2 - 1) * contrastJitter * 100).rounded() / 100))
            }
            // A copy identical to its original would only be a duplicate: give it one change.
            if steps.isEmpty {
                if flipHorizontal {
                    steps.append(.flipHorizontal)
                } else if flipVertical {
                    steps.append(.flipVertical)
                } else if rotate {
                    steps.append(.rotate(quarterTurns: 2))
                }
            }
            return steps
        }
    }

    static func fnv1a(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return hash
    }
}

/// A small, fast, seedable generator (Steele et al.'s SplitMix64): the same seed gives the
/// same numbers on every machine, which `SystemRandomNumberGenerator` does not.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state = state &+ 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A double in [0, 1).
    public mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}
