/// One label on an image as the pipeline stores it with the item: a box with a label
/// (detection) or a label for the whole image (classification), with a score for predictions.
public struct ImageAnnotation: Sendable, Equatable, Codable {
    public var label: String
    /// Absolute pixels of the stored image; nil for a whole-image label.
    public var box: BoundingBox?
    /// Model confidence for predictions; nil for human annotations.
    public var score: Double?

    public init(label: String, box: BoundingBox? = nil, score: Double? = nil) {
        self.label = label
        self.box = box
        self.score = score
    }
}
