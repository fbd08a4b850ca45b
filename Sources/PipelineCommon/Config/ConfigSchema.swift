/// Every configuration key the pipeline knows, in the order the example file documents them.
///
/// Environment overrides use each ecosystem's own names (AWS_*, MLFLOW_*, LABEL_STUDIO_*)
/// so that a shell already set up for the AWS CLI or MLflow works unchanged.
public enum ConfigSchema {
    public static let sections: [(name: String, help: String)] = [
        ("object_store", "Where images and published manifests live."),
        ("manifest", "The manifest store: dataset versions, items and work claims."),
        ("staging", "Local scratch space (NVMe) through which every stage moves its bytes."),
        ("ingest", "Stage 1: picking up raw images, validating, deduplicating, annotating."),
        ("augment", "Augmented copies ingest makes of every image (deterministic for a seed)."),
        ("normalize", "Stage 2: the named size variants made of every image, in one decode."),
        ("train", "Stage 3: the training launcher and its backends."),
        ("infer", "Stage 4: predictions by the approved model, batch and served."),
        ("mlflow", "MLflow tracking server and model registry."),
        ("label_studio", "Label Studio, for importing predictions for human review."),
        ("http", "The HTTP client every remote call goes through (S3, MLflow, Label Studio)."),
        ("observability", "Logs, and the /metrics, /livez and /readyz server."),
    ]

    public static let keys: [ConfigKey] = [
        ConfigKey(
            "object_store.url", env: ["PIPELINE_OBJECT_STORE_URL"], .url(schemes: ["s3", "file"]),
            default: "file://${DATA_DIR}/objects",
            help: "s3://bucket/prefix for S3 or RustFS; file:///dir for the embedded file store."),
        ConfigKey(
            "object_store.endpoint", env: ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"],
            .url(schemes: ["http", "https"]),
            help: "S3 endpoint for RustFS, MinIO or another S3-compatible server; unset for AWS."),
        ConfigKey(
            "object_store.region", env: ["AWS_REGION", "AWS_DEFAULT_REGION"], .region, default: "us-east-1",
            help: "Region used in request signatures."),
        ConfigKey(
            "object_store.addressing", env: ["PIPELINE_S3_ADDRESSING"], .choice(["auto", "path", "virtual"]),
            default: "auto",
            help: "auto: path-style with a custom endpoint, virtual-hosted on AWS."),
        ConfigKey(
            "object_store.access_key_id", env: ["AWS_ACCESS_KEY_ID"], .text, secret: true,
            help: "Access key; unset to use object_store.profile or ~/.aws/credentials."),
        ConfigKey(
            "object_store.secret_access_key", env: ["AWS_SECRET_ACCESS_KEY"], .text, secret: true,
            help: "Secret key that goes with access_key_id."),
        ConfigKey(
            "object_store.session_token", env: ["AWS_SESSION_TOKEN"], .text, secret: true,
            help: "Session token for temporary credentials."),
        ConfigKey(
            "object_store.profile", env: ["AWS_PROFILE"], .text,
            help: "Profile in ~/.aws/credentials and ~/.aws/config."),

        ConfigKey(
            "manifest.url", env: ["PIPELINE_MANIFEST_URL"], .url(schemes: ["postgres", "postgresql", "sqlite"]),
            default: "sqlite://${DATA_DIR}/manifest.db",
            help: "postgres://user:password@host:5432/db, or sqlite:///path/to/manifest.db (embedded)."),
        ConfigKey(
            "manifest.pool_size", env: ["PIPELINE_MANIFEST_POOL_SIZE"], .integer(1...64), default: "4",
            help: "Connections kept open to PostgreSQL."),
        ConfigKey(
            "manifest.max_attempts", env: ["PIPELINE_MAX_ATTEMPTS"], .integer(1...100), default: "5",
            help: "Attempts a work item gets before it is set aside as dead."),
        ConfigKey(
            "manifest.lock_timeout_seconds", env: ["PIPELINE_MANIFEST_LOCK_TIMEOUT"], .integer(1...3600),
            default: "30",
            help: "SQLite: seconds a statement waits while another process holds the database's lock."),
        ConfigKey(
            "manifest.work_retention_hours", env: ["PIPELINE_WORK_RETENTION_HOURS"], .integer(0...87_600),
            default: "168",
            help:
                "Hours finished work items are kept before the stages prune them (0: never); ingest keeps the newest completed version of each object."
        ),
        ConfigKey(
            "manifest.files_prefix", env: ["PIPELINE_MANIFEST_PREFIX"], .text, default: "manifests/",
            help: "Object-store prefix under which each version's manifest.json and manifest.jsonl are written."),

        ConfigKey(
            "staging.root", env: ["PIPELINE_STAGING_ROOT"], .path, default: "/mnt/nvme",
            help: "Root of the staging area; runs use <root>/<stage>/<run-id>/{in,out}."),
        ConfigKey(
            "staging.reserve_mib", env: ["PIPELINE_STAGING_RESERVE_MIB"], .integer(0...10_485_760), default: "1024",
            help: "Free space (MiB) always left on the staging file system."),
        ConfigKey(
            "staging.keep_on_failure", env: ["PIPELINE_KEEP_STAGING"], .boolean, default: "false",
            help: "Keep a failed run's staging directory for inspection."),

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

        ConfigKey(
            "train.backend", env: ["PIPELINE_TRAIN_BACKEND"], .choice(["builtin", "command", "kubernetes"]),
            default: "builtin",
            help:
                "builtin: the Swift classifier on this machine; command: any trainer process; kubernetes: an Indexed Job."
        ),
        ConfigKey(
            "train.model", env: ["PIPELINE_TRAIN_MODEL"], .choice(["cnn", "softmax"]), default: "cnn",
            help: "builtin model: a small convolutional network, or softmax regression on pixels (the baseline)."),
        ConfigKey(
            "train.convolutions", env: ["PIPELINE_TRAIN_CONVOLUTIONS"], .text, default: "8,16,32",
            help: "Output channels of each conv-ReLU-pool block of the builtin network."),
        ConfigKey(
            "train.epochs", env: ["PIPELINE_TRAIN_EPOCHS"], .integer(1...10_000), default: "20",
            help: "Most epochs to train (early stopping may end sooner)."),
        ConfigKey(
            "train.batch_size", env: ["PIPELINE_TRAIN_BATCH_SIZE"], .integer(1...65_536), default: "32",
            help: "Images per gradient step."),
        ConfigKey(
            "train.learning_rate", env: ["PIPELINE_TRAIN_LEARNING_RATE"], .number(0.000001...10), default: "0.02",
            help: "SGD step size."),
        ConfigKey(
            "train.momentum", env: [], .number(0...0.999), default: "0.9", help: "SGD momentum."),
        ConfigKey(
            "train.weight_decay", env: [], .number(0...1), default: "0.0001", help: "L2 penalty on the parameters."),
        ConfigKey(
            "train.patience", env: ["PIPELINE_TRAIN_PATIENCE"], .integer(1...1000), default: "4",
            help: "Epochs without a better validation accuracy before stopping early."),
        ConfigKey(
            "train.validation_fraction", env: [], .number(0.01...0.9), default: "0.2",
            help:
                "Share of images held out for validation, chosen by a hash of the key (augmented copies follow their original)."
        ),
        ConfigKey(
            "train.seed", env: ["PIPELINE_TRAIN_SEED"], .integer(0...Int.max), default: "1",
            help: "Seed of the initial weights and the batch order."),
        ConfigKey(
            "train.nodes", env: ["PIPELINE_TRAIN_NODES"], .integer(1...1024), default: "1",
            help: "Nodes to train on; builtin runs one process per node here and averages after each epoch."),
        ConfigKey(
            "train.images_per_node", env: ["PIPELINE_TRAIN_IMAGES_PER_NODE"], .integer(1...100_000_000),
            default: "100000", help: "Most training images one node gets."),
        ConfigKey(
            "train.prefix", env: ["PIPELINE_TRAIN_PREFIX"], .text, default: "training/",
            help: "Object-store prefix for each run's shard lists (what every node trains on)."),
        ConfigKey(
            "train.registered_model", env: ["PIPELINE_REGISTERED_MODEL"], .text, default: "image-classifier",
            help: "MLflow registered model each run adds a version to."),
        ConfigKey(
            "train.command", env: ["PIPELINE_TRAIN_COMMAND"], .text,
            help: "command backend: the trainer, run with /bin/sh -c (see README for its contract)."),
        ConfigKey(
            "train.image", env: ["PIPELINE_TRAIN_IMAGE"], .text, default: "ghcr.io/image-pipeline/pipeline:latest",
            help: "kubernetes backend: the container image of each node."),
        ConfigKey(
            "train.namespace", env: ["PIPELINE_TRAIN_NAMESPACE"], .text, default: "default",
            help: "kubernetes backend: the namespace of the Job."),
        ConfigKey(
            "train.node_staging_path", env: ["PIPELINE_TRAIN_NODE_STAGING_PATH"], .path,
            default: "/mnt/nvme/train",
            help:
                "kubernetes backend: the node's folder (hostPath) each pod stages through at /mnt/nvme; /var/mnt/nvme/train on OpenShift."
        ),
        ConfigKey(
            "train.cpu", env: [], .text, default: "2", help: "kubernetes backend: CPU request and limit a node."),
        ConfigKey(
            "train.memory", env: [], .text, default: "4Gi", help: "kubernetes backend: memory request and limit a node."
        ),
        ConfigKey(
            "train.gpus", env: [], .integer(0...16), default: "0", help: "kubernetes backend: nvidia.com/gpu a node."),

        ConfigKey(
            "infer.poll_interval_seconds", env: ["PIPELINE_INFER_POLL_INTERVAL"], .number(0.5...86_400), default: "10",
            help: "How often serve asks MLflow where the alias \"approved\" points, to swap models."),
        ConfigKey(
            "infer.max_body_mib", env: ["PIPELINE_INFER_MAX_BODY_MIB"], .integer(1...1024), default: "32",
            help: "Largest image POST /predict accepts."),
        ConfigKey(
            "infer.prefix", env: ["PIPELINE_INFER_PREFIX"], .text, default: "predictions/",
            help: "Prefix under which batch runs write Label Studio tasks and COCO results."),
        ConfigKey(
            "infer.top_k", env: ["PIPELINE_INFER_TOP_K"], .integer(1...100), default: "3",
            help: "Classes returned per image, most likely first."),
        ConfigKey(
            "infer.batch_size", env: ["PIPELINE_INFER_BATCH"], .integer(1...10_000), default: "32",
            help: "batch: images a worker claims at a time."),
        ConfigKey(
            "infer.max_pixels", env: ["PIPELINE_INFER_MAX_PIXELS"], .integer(1...2_000_000_000), default: "100000000",
            help: "Images declaring more pixels than this are refused unread, by the service and by batch runs."),

        ConfigKey(
            "mlflow.tracking_uri", env: ["MLFLOW_TRACKING_URI"], .url(schemes: ["http", "https"]),
            default: "http://127.0.0.1:5000",
            help: "MLflow tracking server."),
        ConfigKey(
            "mlflow.token", env: ["MLFLOW_TRACKING_TOKEN"], .text, secret: true,
            help: "Bearer token for the tracking server."),
        ConfigKey(
            "mlflow.username", env: ["MLFLOW_TRACKING_USERNAME"], .text,
            help: "Basic-auth user for the tracking server."),
        ConfigKey(
            "mlflow.password", env: ["MLFLOW_TRACKING_PASSWORD"], .text, secret: true,
            help: "Basic-auth password that goes with mlflow.username."),
        ConfigKey(
            "mlflow.experiment", env: ["MLFLOW_EXPERIMENT_NAME"], .text, default: "image-pipeline",
            help: "Experiment that training runs are logged to."),

        ConfigKey(
            "label_studio.url", env: ["LABEL_STUDIO_URL"], .url(schemes: ["http", "https"]),
            help: "Label Studio server; unset to only write task files."),
        ConfigKey(
            "label_studio.api_key", env: ["LABEL_STUDIO_API_KEY"], .text, secret: true,
            help: "Label Studio access token."),

        ConfigKey(
            "http.connect_timeout_seconds", env: ["PIPELINE_HTTP_CONNECT_TIMEOUT"], .number(0.1...600), default: "10",
            help: "Time allowed to open a connection."),
        ConfigKey(
            "http.timeout_seconds", env: ["PIPELINE_HTTP_TIMEOUT"], .number(0.1...86_400), default: "300",
            help: "Time allowed for one whole request, connection to last byte."),
        ConfigKey(
            "http.max_attempts", env: ["PIPELINE_HTTP_MAX_ATTEMPTS"], .integer(1...20), default: "5",
            help: "Attempts per request on connection errors, timeouts, 5xx and 429."),
        ConfigKey(
            "http.ca_bundle", env: ["AWS_CA_BUNDLE", "CURL_CA_BUNDLE"], .path,
            help: "PEM file of extra trusted certificate authorities; TLS verification is always on."),

        ConfigKey(
            "observability.log_level", env: ["PIPELINE_LOG_LEVEL"],
            .choice(["trace", "debug", "info", "notice", "warning", "error", "critical"]), default: "info",
            help: "Least severe level logged."),
        ConfigKey(
            "observability.log_format", env: ["PIPELINE_LOG_FORMAT"], .choice(["auto", "text", "json"]),
            default: "auto",
            help: "auto: human text on a terminal, JSON lines otherwise."),
        ConfigKey(
            "observability.metrics_host", env: ["PIPELINE_METRICS_HOST"], .text, default: "127.0.0.1",
            help: "Address the /metrics, /livez, /readyz server binds; 0.0.0.0 in containers."),
        ConfigKey(
            "observability.metrics_port", env: ["PIPELINE_METRICS_PORT"], .integer(0...65_535), default: "9464",
            help: "Port of that server; 0 picks a free one."),
        ConfigKey(
            "observability.shutdown_grace_seconds", env: ["PIPELINE_SHUTDOWN_GRACE"], .integer(1...3600), default: "30",
            help:
                "Services (serve, poll loops): on SIGTERM, how long the batches in hand may take to finish; after it they are cancelled and their claims come back to the next worker."
        ),
    ]
}
