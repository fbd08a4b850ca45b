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
