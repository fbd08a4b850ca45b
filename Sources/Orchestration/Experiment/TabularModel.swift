import Foundation

/// A builtin model for tabular features, trained on a prepared dataset's training split; it
/// gives every item a score per class (probabilities, or neighbour shares for k-NN).
public struct TabularModelSpec: Sendable, Codable, Equatable {
    public enum Kind: String, Sendable, Codable, CaseIterable {
        /// Multinomial logistic (softmax) regression, full-batch gradient descent with L2.
        case softmax
        /// k nearest neighbours (Euclidean on the standardised features), the share of each class.
        case knn
        /// One hidden layer of ReLU units, softmax output, gradient descent with momentum.
        case mlp
    }

    public let name: String
    public let kind: Kind
    public var epochs: Int?
    public var learningRate: Double?
    public var neighbours: Int?
    public var hidden: Int?
    public var seed: UInt64?

    public init(name: String, kind: Kind) {
        self.name = name
        self.kind = kind
    }
}

/// Trained weights, ready to score.
public struct TabularModel: Sendable {
    let spec: TabularModelSpec
    let classes: Int
    let train: [PreparedDataset.Item]
    // softmax: [class][feature + 1]; mlp: first layer [hidden][feature + 1], second [class][hidden + 1]
    let first: [[Double]]
    let second: [[Double]]

    public static func train(_ spec: TabularModelSpec, on data: PreparedDataset) -> TabularModel {
        let features = data.featureNames.count
        let classes = data.classes.count
        var generator = SeededGenerator(seed: spec.seed ?? 7)
        switch spec.kind {
        case .knn:
            return TabularModel(spec: spec, classes: classes, train: data.train, first: [], second: [])
        case .softmax:
            var weights = [[Double]](repeating: [Double](repeating: 0, count: features + 1), count: classes)
            let rate = spec.learningRate ?? 0.5
            for _ in 0..<(spec.epochs ?? 300) {
                var gradient = [[Double]](repeating: [Double](repeating: 0, count: features + 1), count: classes)
                for item in data.train {
                    let p = softmax(weights.map { linear($0, item.features) })
                    for c in 0..<classes {
                        let error = p[c] - (c == item.label ? 1 : 0)
                        for f in 0..<features { gradient[c][f] += error * item.features[f] }
                        gradient[c][features] += error
                    }
                }
                let n = Double(max(data.train.count, 1))
                for c in 0..<classes {
                    for f in 0...features {
                        weights[c][f] -= rate * (gradient[c][f] / n + (f < features ? 1e-4 * weights[c][f] : 0))
                    }
                }
            }
            return TabularModel(spec: spec, classes: classes, train: [], first: weights, second: [])
        case .mlp:
            let hidden = spec.hidden ?? 32
            let scale1 = (2 / Double(max(features, 1))).squareRoot()
            let scale2 = (2 / Double(hidden)).squareRoot()
            var w1 = (0..<hidden).map { _ in (0...features).map { $0 < features ? generator.normal() * scale1 : 0 } }
            var w2 = (0..<classes).map { _ in (0...hidden).map { $0 < hidden ? generator.normal() * scale2 : 0 } }
            var v1 = w1.map { $0.map { _ in 0.0 } }
            var v2 = w2.map { $0.map { _ in 0.0 } }
            let rate = spec.learningRate ?? 0.1
            let n = Double(max(data.train.count, 1))
            for _ in 0..<(spec.epochs ?? 300) {
                var g1 = w1.map { $0.map { _ in 0.0 } }
                var g2 = w2.map { $0.map { _ in 0.0 } }
                for item in data.train {
                    let z = w1.map { linear($0, item.features) }
                    let a = z.map { max(0, $0) }
                    let p = softmax(w2.map { linear($0, a) })
                    var back = [Double](repeating: 0, count: hidden)
                    for c in 0..<classes {
                        let error = p[c] - (c == item.label ? 1 : 0)
                        for h in 0..<hidden {
                            g2[c][h] += error * a[h]
                            back[h] += error * w2[c][h]
                        }
                        g2[c][hidden] += error
                    }
                    for h in 0..<hidden where z[h] > 0 {
                        for f in 0..<features { g1[h][f] += back[h] * item.features[f] }
                        g1[h][features] += back[h]
                    }
                }
                for h in 0..<hidden {
                    for f in 0...features {
                        v1[h][f] = 0.9 * v1[h][f] - rate * (g1[h][f] / n + 1e-4 * w1[h][f])
                        w1[h][f] += v1[h][f]
                    }
                }
                for c in 0..<classes {
                    for h in 0...hidden {
                        v2[c][h] = 0.9 * v2[c][h] - rate * (g2[c][h] / n + 1e-4 * w2[c][h])
                        w2[c][h] += v2[c][h]
                    }
                }
            }
            return TabularModel(spec: spec, classes: classes, train: [], first: w1, second: w2)
        }
    }

    /// The score of each class for `features`.
    public func scores(_ features: [Double]) -> [Double] {
        switch spec.kind {
        case .softmax:
            return Self.softmax(first.map { Self.linear($0, features) })
        case .mlp:
            let a = first.map { max(0, Self.linear($0, features)) }
            return Self.softmax(second.map { Self.linear($0, a) })
        case .knn:
            let k = max(1, min(spec.neighbours ?? 5, train.count))
            var distances: [(distance: Double, label: Int)] = []
            distances.reserveCapacity(train.count)
            for item in train {
                var distance = 0.0
                for i in 0..<features.count {
                    let d = item.features[i] - features[i]
                    distance += d * d
                }
                distances.append((distance, item.label))
            }
            let nearest = distances.sorted { $0.distance < $1.distance }.prefix(k)
            var shares = [Double](repeating: 0, count: classes)
            for (_, label) in nearest { shares[label] += 1 / Double(k) }
            return shares
        }
    }

    static func linear(_ weights: [Double], _ x: [Double]) -> Double {
        var sum = weights[x.count]
        for i in 0..<x.count { sum += weights[i] * x[i] }
        return sum
    }

    static func softmax(_ z: [Double]) -> [Double] {
        let top = z.max() ?? 0
        let e = z.map { Foundation.exp($0 - top) }
        let total = e.reduce(0, +)
        return e.map { $0 / total }
    }
}

/// A small deterministic generator (SplitMix64) with normal draws, for reproducible weights.
struct SeededGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func uniform() -> Double { Double(next() >> 11) / Double(1 << 53) }
    mutating func normal() -> Double {
        let u = max(uniform(), 1e-12)
        return (-2 * Foundation.log(u)).squareRoot() * Foundation.cos(2 * Double.pi * uniform())
    }
}
