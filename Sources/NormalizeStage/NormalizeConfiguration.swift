import Foundation
import PipelineCommon

/// The `normalize` section: the named variants made of every image, where they go, and how
/// the work is shared.
public struct NormalizeConfiguration: ConfigSection {
    public var variants: [VariantSpec]
    public var keyTemplate: KeyTemplate
    public var prefix: String
    public var trainVariant: String
    /// `cpu` or `gpu`.
    public var resizer: String
    /// Images in flight at once.
    public var concurrency: Int
    public var vipsThreads: Int
    public var batchSize: Int
    public var lease: Duration

    public static let name = "normalize"
    public static let help = "Stage 2: the named size variants made of every image, in one decode."
    public static let keys: [ConfigKey] = [
        ConfigKey(
            "normalize.variants", env: ["PIPELINE_NORMALIZE_VARIANTS"], .variants,
            default: "train:64x64:pad:png:90;preview:512:contain:webp:80;thumb:128x128:cover:jpeg:85",
            help:
                "Variants, as a YAML list of {name, size | width+height, fit, format, quality, background} or name:size[:fit[:format[:quality]]];…"
        ),
        ConfigKey(
            "normalize.key_template", env: ["PIPELINE_NORMALIZE_KEY_TEMPLATE"], .keyTemplate,
            default: "{dataset}/{variant}/{sha256}.{ext}",
            help: "Key of each variant under normalize.prefix; must name {variant} and {sha256}, {stem} or {path}."),
        ConfigKey(
            "normalize.prefix", env: ["PIPELINE_NORMALIZE_PREFIX"], .text, default: "variants/",
            help: "Prefix under which variants are stored."),
        ConfigKey(
            "normalize.train_variant", env: ["PIPELINE_TRAIN_VARIANT"], .text, default: "train",
            help: "The variant trainers read; its per-channel mean and deviation go into the manifest."),
        ConfigKey(
            "normalize.resizer", env: ["PIPELINE_RESIZER"], .choice(["cpu", "gpu"]), default: "cpu",
            help: "cpu: libvips; gpu: reports itself unavailable in this build."),
        ConfigKey(
            "normalize.concurrency", env: ["PIPELINE_NORMALIZE_CONCURRENCY"], .integer(0...256), default: "0",
            help: "Images in flight at once (bounds memory); 0 for two per core (one renders while another is stored)."),
        ConfigKey(
            "normalize.vips_threads", env: ["VIPS_CONCURRENCY"], .integer(1...256), default: "1",
            help: "libvips' own threads per image; 1 when every core already has an image."),
        ConfigKey(
            "normalize.batch_size", env: ["PIPELINE_NORMALIZE_BATCH"], .integer(1...10_000), default: "32",
            help: "Images a worker claims at a time."),
        ConfigKey(
            "normalize.lease_seconds", env: ["PIPELINE_NORMALIZE_LEASE"], .integer(5...86_400), default: "300",
            help: "How long a claim lasts; a killed worker's images are taken again after it."),
    ]

    public init(_ values: ConfigValues) {
        variants = values.parsed("normalize.variants") { try? VariantSpec.parseList($0).get() }
        keyTemplate = values.parsed("normalize.key_template") { try? KeyTemplate.parse($0).get() }
        prefix = values.prefix("normalize.prefix")
        trainVariant = values.text("normalize.train_variant")
        resizer = values.text("normalize.resizer")
        let inFlight = values.integer("normalize.concurrency")
        concurrency = inFlight > 0 ? inFlight : 2 * ProcessInfo.processInfo.activeProcessorCount
        vipsThreads = values.integer("normalize.vips_threads")
        batchSize = values.integer("normalize.batch_size")
        lease = .seconds(values.integer("normalize.lease_seconds"))
    }

    public static func problems(in values: ConfigValues) -> [ConfigProblem] {
        guard let text = values.string("normalize.variants"), case .success(let variants) = VariantSpec.parseList(text),
            let train = values.string("normalize.train_variant"), !variants.contains(where: { $0.name == train })
        else { return [] }
        return [
            .init(
                key: "normalize.train_variant", found: train, source: values.source(of: "normalize.train_variant"),
                expected: "one of the variants: " + variants.map(\.name).joined(separator: ", "))
        ]
    }
}

extension PipelineConfiguration {
    public typealias Normalize = NormalizeConfiguration

    /// The normalize stage's section.
    public var normalize: NormalizeConfiguration {
        get { section(NormalizeConfiguration.self) }
        set { setSection(newValue) }
    }
}
