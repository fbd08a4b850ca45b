/// The help text of every metric the pipeline records, as `# HELP` lines in `/metrics`.
///
/// Prometheus (and `promtool check metrics`) expects every metric to say what it measures.
/// swift-metrics has no place for that, so the text lives here, keyed by metric name.
public enum MetricCatalog {
    public static let help: [String: String] = [
        "pipeline_http_client_requests_total":
            "HTTP requests finished by the client, by method and outcome (status class or error).",
        "pipeline_http_client_retries_total": "HTTP request attempts that were retried, by method.",
        "pipeline_http_client_request_duration_seconds":
            "Time from the first attempt of an HTTP request to its final outcome.",
        "pipeline_ingest_objects_seen_total": "Raw objects ingest was told about, by source (poll or event).",
        "pipeline_ingest_objects_ingested_total": "Objects accepted and stored under their content hash.",
        "pipeline_ingest_objects_rejected_total": "Objects recorded as rejected, by reason.",
        "pipeline_ingest_duplicates_total": "Objects whose bytes were stored already under another key.",
        "pipeline_ingest_bytes_total": "Bytes of accepted objects.",
        "pipeline_ingest_events_total": "Bucket-notification deliveries and records, by outcome.",
        "pipeline_ingest_object_duration_seconds": "Time to ingest one object, download to record.",
        "pipeline_ingest_versions_published_total": "Dataset versions ingest published.",
        "pipeline_normalize_versions_published_total": "Dataset versions normalize published.",
        "pipeline_infer_versions_published_total": "Prediction versions infer batch published.",
        "pipeline_ingest_failures_total":
            "Ingest claims handed back to the queue (failed attempts, outages, batches not recorded).",
        "pipeline_normalize_failures_total":
            "Normalize claims handed back to the queue (failed attempts, outages, batches not recorded).",
        "pipeline_infer_failures_total":
            "Infer batch claims handed back to the queue (failed attempts, outages, batches not recorded).",
        "pipeline_normalize_images_total": "Images normalize made variants of.",
        "pipeline_normalize_variants_written_total":
            "Variant files normalize stored (existing ones are not rewritten).",
        "pipeline_normalize_image_duration_seconds": "Time to render and store every variant of one image.",
        "pipeline_stage_phase_seconds":
            "Time one item spent in one part of a stage's work, by stage and phase (ingest: stage, validate, store; normalize: decode, resample, encode, store; infer: stage, validate, render, predict; record: one batch's manifest write).",
        "pipeline_infer_predictions_total": "Predictions made, by model version and outcome (ok, bad_image, error).",
        "pipeline_infer_prediction_duration_seconds": "Time from receiving an image to its prediction.",
        "pipeline_infer_model_info": "The model being served (1) and those served before (0), by name and version.",
        "pipeline_infer_model_reloads_total": "Times the served model was swapped because the approved alias moved.",
        "pipeline_infer_errors_total": "Refused or failed prediction requests and model loads, by kind.",
        "pipeline_infer_images_per_second": "Images predicted per second over the last five seconds.",
        "pipeline_infer_score": "Score of the top class of each prediction.",
    ]

    /// The help text for `name`: the catalog's, or one derived from the name so that no
    /// metric is ever emitted without a `# HELP` line.
    public static func helpText(for name: String) -> String {
        if let text = help[name] { return text }
        let words = name.split(separator: "_").filter { $0 != "pipeline" }
        return words.joined(separator: " ").capitalizedFirst + "."
    }
}

extension String {
    fileprivate var capitalizedFirst: String { prefix(1).uppercased() + dropFirst() }
}
