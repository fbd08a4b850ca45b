import Foundation
import PipelineCommon

// normalize-bench OUTPUT_DIR IMAGE...
// Renders the benchmark's six variants (3 sizes × JPEG and WebP) of every image with the
// libvips resizer, one image per core in flight, as pipeline-normalize does, and prints
// {"seconds", "images", "outputs", "max_rss_kib", "decode", "resample", "encode"} (CPU seconds summed over images) as JSON.

let arguments = CommandLine.arguments
guard arguments.count >= 3 else {
    FileHandle.standardError.write(Data("usage: normalize-bench OUTPUT_DIR IMAGE...\n".utf8))
    exit(2)
}
let outputDirectory = arguments[1]
let images = Array(arguments.dropFirst(2))
// NORMALIZE_BENCH_VARIANTS (normalize.variants' compact form) replaces the six.
let defaultVariants: [VariantSpec] = [.jpeg, .webp].flatMap { format in
    [
        VariantSpec(name: "\(format)-1024", width: 1024, height: 1024, fit: .contain, format: format, quality: 85),
        VariantSpec(name: "\(format)-512", width: 512, height: 512, fit: .contain, format: format, quality: 85),
        VariantSpec(name: "\(format)-256", width: 256, height: 256, fit: .cover, format: format, quality: 85),
    ]
}
let variants: [VariantSpec] =
    switch ProcessInfo.processInfo.environment["NORMALIZE_BENCH_VARIANTS"].map(VariantSpec.parseList) {
    case nil: defaultVariants
    case .success(let parsed): parsed
    case .failure(let error):
        {
            FileHandle.standardError.write(Data("normalize-bench: NORMALIZE_BENCH_VARIANTS: \(error)\n".utf8))
            exit(2)
        }()
    }
let resizer = VipsResizer(threads: 1)
let cores = ProcessInfo.processInfo.activeProcessorCount
let started = ContinuousClock.now
let timings = try await concurrentMap(count: images.count, limit: cores) { index in
    let outputs = variants.map { "\(outputDirectory)/\(index)-\($0.name).\($0.format.fileExtension)" }
    return try await resizer.render(images[index], variants: variants, outputs: outputs, statistics: nil).timing
}
let elapsed = ContinuousClock.now - started
var usage = rusage()
getrusage(RUSAGE_SELF.rawValue, &usage)
let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
print(
    "{\"seconds\": \(seconds), \"images\": \(images.count), \"outputs\": \(images.count * variants.count), \"max_rss_kib\": \(usage.ru_maxrss), \"decode\": \(timings.map(\.decode).reduce(0, +)), \"resample\": \(timings.map(\.resample).reduce(0, +)), \"encode\": \(timings.map(\.encode).reduce(0, +))}"
)
