/// Which image a variant is resampled from when one decode makes several: the smallest image
/// resampled so far that has the variant's scaled size, or at least twice it in each direction
/// (Lanczos 3 from twice the pixels keeps what a resample from the full decode keeps, as
/// libvips' thumbnail leaves a factor of two after shrink-on-load); the decode itself otherwise.
/// 640x480 to 512, 256 and 32: 256 from 512x384, 32 from 256x192, not each from 640x480.
public enum ResampleCascade {
    /// The order to make `geometries` in: the largest scaled size first, so smaller variants can
    /// come from larger ones.
    public static func order(_ geometries: [VariantGeometry]) -> [Int] {
        geometries.indices.sorted {
            let (a, b) = (geometries[$0], geometries[$1])
            return (a.scaledWidth * a.scaledHeight, $1) > (b.scaledWidth * b.scaledHeight, $0)
        }
    }

    /// The index in `sizes` (images made so far; the decode first) to resample `target` from.
    public static func source(for target: (width: Int, height: Int), among sizes: [(width: Int, height: Int)]) -> Int {
        var best = 0
        for (index, size) in sizes.enumerated().dropFirst() {
            let same = size.width == target.width && size.height == target.height
            let twice = size.width >= 2 * target.width && size.height >= 2 * target.height
            if same || twice, size.width * size.height < sizes[best].width * sizes[best].height { best = index }
        }
        return best
    }
}
