/// `--approve-if 'val_accuracy>=0.9'`: a metric, a comparison, a number.
public struct ApprovalGate: Sendable, Equatable, CustomStringConvertible {
    public enum Comparison: String, Sendable, CaseIterable {
        case atLeast = ">=", atMost = "<=", above = ">", below = "<", equal = "=="
    }

    public let metric: String
    public let comparison: Comparison
    public let threshold: Double

    public var description: String { "\(metric)\(comparison.rawValue)\(threshold)" }

    public static func parse(_ text: String) -> ApprovalGate? {
        let compact = text.filter { !$0.isWhitespace }
        for comparison in Comparison.allCases {  // two-character operators first
            guard let range = compact.range(of: comparison.rawValue) else { continue }
            let metric = String(compact[..<range.lowerBound])
            guard !metric.isEmpty, let threshold = Double(compact[range.upperBound...]) else { return nil }
            return ApprovalGate(metric: metric, comparison: comparison, threshold: threshold)
        }
        return nil
    }

    /// Whether `metrics` pass, and the sentence that says why (not).
    public func evaluate(_ metrics: [String: Double]) -> (passed: Bool, reason: String) {
        guard let value = metrics[metric] else {
            return (false, "metric \(metric) was not reported (have: \(metrics.keys.sorted().joined(separator: ", ")))")
        }
        let passed: Bool
        switch comparison {
        case .atLeast: passed = value >= threshold
        case .atMost: passed = value <= threshold
        case .above: passed = value > threshold
        case .below: passed = value < threshold
        case .equal: passed = value == threshold
        }
        return (passed, "\(metric) = \(value) \(passed ? "passes" : "fails") \(self)")
    }
}
