import Foundation
import PipelineCommon

/// The `ingest` section: where raw images land, what is accepted, how work is shared, the
/// webhook. Its augmented copies are the `augment` section (``AugmentConfiguration``).
public struct IngestConfiguration: ConfigSection {
    public var dataset: String
    public var rawPrefix: String
    public var curatedPrefix: String
    public var annotationsPrefix: String
    public var pollInterval: Duration
    public var maxPixels: Int
    public var batchSize: Int
    public var concurrency: Int
    public var lease: Duration
    public var webhookToken: Secret?
    /// Whether SNS messages must carry a valid signature.
    public var snsVerifySignatures: Bool
    /// Hosts (`host` or `host:port`) trusted besides `sns.<region>.amazonaws.com` to serve
    /// SNS signing certificates (over HTTPS only).
    public var snsCertificateHosts: [String]
    /// The augmented copies to make; nil when `augment.copies` is 0.
    public var augmentation: AugmentationPlan?

    public static let name = "ingest"
    public static let help = "Stage 1: picking up raw images, validating, deduplicating, annotating."
    public static let keys: [ConfigKey] = [
        ConfigKey(
            "ingest.dataset", env: ["PIPELINE_DATASET"], .text, default: "images",
            help: "Name of the dataset the ingested images form; each publish is a version of it."),
        ConfigKey(
            "ingest.raw_prefix", env: ["PIPELINE_RAW_PREFIX"], .text, default: "raw/",
            help: "Prefix where raw images land (polled, or named by bucket notifications)."),
        ConfigKey(
            "ingest.curated_prefix", env: ["PIPELINE_CURATED_PREFIX"], .text, default: "curated/",
            help: "Prefix for accepted images, stored once each under <prefix><sha256[0:2]>/<sha256>.<ext>."),
        ConfigKey(
            "ingest.annotations_prefix", env: ["PIPELINE_ANNOTATIONS_PREFIX"], .text, default: "annotations/",
            help: "Prefix of COCO instances or Label Studio export JSON files, matched to images by key or file name."),
        ConfigKey(
            "ingest.poll_interval_seconds", env: ["PIPELINE_POLL_INTERVAL"], .number(1...86_400), default: "60",
            help: "Time between listings in poll mode (without --once)."),
        ConfigKey(
            "ingest.max_pixels", env: ["PIPELINE_MAX_PIXELS"], .integer(1...2_000_000_000), default: "100000000",
            help: "Images declaring more pixels than this are rejected unread (decompression bombs)."),
        ConfigKey(
            "ingest.batch_size", env: ["PIPELINE_INGEST_BATCH"], .integer(1...10_000), default: "32",
            help: "Objects a worker claims at a time."),
        ConfigKey(
            "ingest.concurrency", env: ["PIPELINE_INGEST_CONCURRENCY"], .integer(1...256), default: "8",
            help: "Objects a worker processes at once (downloads, decodes, uploads)."),
        ConfigKey(
            "ingest.lease_seconds", env: ["PIPELINE_INGEST_LEASE"], .integer(5...86_400), default: "300",
            help: "How long a claim lasts; a killed worker's objects are taken again after it."),
        ConfigKey(
            "ingest.webhook_token", env: ["PIPELINE_WEBHOOK_TOKEN"], .text, secret: true,
            help: "Token bucket notifications must carry (Authorization: Bearer, or the password of Basic auth)."),
        ConfigKey(
            "ingest.sns_verify_signatures", env: ["PIPELINE_SNS_VERIFY_SIGNATURES"], .boolean, default: "true",
            help:
                "Verify the signature of every SNS message (SignatureVersion 1 and 2) against its signing certificate; unsigned or badly signed ones get 403."
        ),
        ConfigKey(
            "ingest.sns_certificate_hosts", env: ["PIPELINE_SNS_CERTIFICATE_HOSTS"], .text,
            help:
                "Comma-separated hosts (host or host:port) trusted, besides sns.<region>.amazonaws.com, to serve SNS signing certificates over HTTPS (a local SNS)."
        ),
    ]

    public init(_ values: ConfigValues) {
        dataset = values.text("ingest.dataset")
        rawPrefix = values.prefix("ingest.raw_prefix")
        curatedPrefix = values.prefix("ingest.curated_prefix")
        annotationsPrefix = values.prefix("ingest.annotations_prefix")
        pollInterval = values.seconds("ingest.poll_interval_seconds")
        maxPixels = values.integer("ingest.max_pixels")
        batchSize = values.integer("ingest.batch_size")
        concurrency = values.integer("ingest.concurrency")
        lease = .seconds(values.integer("ingest.lease_seconds"))
        webhookToken = values.string("ingest.webhook_token").map(Secret.init)
        snsVerifySignatures = values.flag("ingest.sns_verify_signatures")
        snsCertificateHosts = (values.string("ingest.sns_certificate_hosts") ?? "").split(separator: ",").map {
            $0.trimmingCharacters(in: .whitespaces).lowercased()
        }.filter { !$0.isEmpty }
        augmentation = AugmentConfiguration(values).plan
    }
}

/// The `augment` section: the augmented copies ingest makes of every image.
public struct AugmentConfiguration: ConfigSection {
    /// The copies to make; nil when `augment.copies` is 0.
    public var plan: AugmentationPlan?

    public static let name = "augment"
    public static let help = "Augmented copies ingest makes of every image (deterministic for a seed)."
    public static let keys: [ConfigKey] = [
        ConfigKey(
            "augment.copies", env: ["PIPELINE_AUGMENT_COPIES"], .integer(0...100), default: "0",
            help: "Augmented copies per accepted image; 0 for none."),
        ConfigKey(
            "augment.seed", env: ["PIPELINE_AUGMENT_SEED"], .integer(0...Int.max), default: "0",
            help: "Seed of the transforms: the same seed and image always give the same copies."),
        ConfigKey(
            "augment.flip_horizontal", env: [], .boolean, default: "true",
            help: "Mirror left-right at random."),
        ConfigKey(
            "augment.flip_vertical", env: [], .boolean, default: "false",
            help: "Mirror top-bottom at random."),
        ConfigKey(
            "augment.rotate", env: [], .boolean, default: "false",
            help: "Rotate by a random multiple of 90 degrees."),
        ConfigKey(
            "augment.brightness", env: [], .number(0...255), default: "0",
            help: "Largest brightness shift, in 0-255 levels; 0 for none."),
        ConfigKey(
            "augment.contrast", env: [], .number(0...1), default: "0",
            help: "Largest contrast change, as a fraction (0.2 = 80% to 120%); 0 for none."),
        ConfigKey(
            "augment.crop_min_area", env: [], .number(0.05...1), default: "1",
            help: "Random crops keep at least this fraction of the area; 1 for no crops."),
    ]

    public init(_ values: ConfigValues) {
        let copies = values.integer("augment.copies")
        guard copies > 0 else {
            plan = nil
            return
        }
        let crop = values.number("augment.crop_min_area")
        plan = AugmentationPlan(
            copies: copies, flipHorizontal: values.flag("augment.flip_horizontal"),
            flipVertical: values.flag("augment.flip_vertical"), rotate: values.flag("augment.rotate"),
            brightnessJitter: values.number("augment.brightness"), contrastJitter: values.number("augment.contrast"),
            cropMinimumArea: crop < 1 ? crop : nil, seed: UInt64(values.integer("augment.seed")))
    }
}

extension PipelineConfiguration {
    public typealias Ingest = IngestConfiguration

    /// The ingest stage's section (with its augmentation).
    public var ingest: IngestConfiguration {
        get { section(IngestConfiguration.self) }
        set { setSection(newValue) }
    }
}
