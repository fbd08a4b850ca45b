/// A Label Studio task as its JSON export and import use it: the image, human annotations
/// and model predictions, each a list of results in percent coordinates of the image.
public struct LabelStudioTask: Sendable, Equatable, Codable {
    /// One labelled region (`rectanglelabels`) or whole-image label (`choices`).
    public struct Result: Sendable, Equatable, Codable {
        public struct Value: Sendable, Equatable, Codable {
            /// Percent of the image width/height, from the top-left corner.
            public var x: Double?
            public var y: Double?
            public var width: Double?
            public var height: Double?
            public var rotation: Double?
            public var rectanglelabels: [String]?
            public var choices: [String]?

            public init(
                x: Double? = nil, y: Double? = nil, width: Double? = nil, height: Double? = nil,
                rotation: Double? = nil,
                rectanglelabels: [String]? = nil, choices: [String]? = nil
            ) {
                self.x = x
                self.y = y
                self.width = width
                self.height = height
                self.rotation = rotation
                self.rectanglelabels = rectanglelabels
                self.choices = choices
            }
        }

        public var id: String?
        public var type: String
        public var fromName: String
        public var toName: String
        public var originalWidth: Int?
        public var originalHeight: Int?
        public var imageRotation: Double?
        public var value: Value
        public var score: Double?

        public init(
            id: String? = nil, type: String, fromName: String, toName: String, originalWidth: Int?,
            originalHeight: Int?,
            imageRotation: Double? = 0, value: Value, score: Double? = nil
        ) {
            self.id = id
            self.type = type
            self.fromName = fromName
            self.toName = toName
            self.originalWidth = originalWidth
            self.originalHeight = originalHeight
            self.imageRotation = imageRotation
            self.value = value
            self.score = score
        }

        enum CodingKeys: String, CodingKey {
            case id, type, value, score
            case fromName = "from_name"
            case toName = "to_name"
            case originalWidth = "original_width"
            case originalHeight = "original_height"
            case imageRotation = "image_rotation"
        }
    }

    public struct Annotation: Sendable, Equatable, Codable {
        public var result: [Result]
        public init(result: [Result]) { self.result = result }
    }

    public struct Prediction: Sendable, Equatable, Codable {
        public var modelVersion: String
        public var score: Double?
        public var result: [Result]

        public init(modelVersion: String, score: Double?, result: [Result]) {
            self.modelVersion = modelVersion
            self.score = score
            self.result = result
        }

        enum CodingKeys: String, CodingKey {
            case score, result
            case modelVersion = "model_version"
        }
    }

    public var id: Int?
    /// `{"image": "<url or path>"}`, the `$image` of the labeling config.
    public var data: [String: String]
    public var annotations: [Annotation]?
    public var predictions: [Prediction]?

    public init(
        id: Int? = nil, data: [String: String], annotations: [Annotation]? = nil, predictions: [Prediction]? = nil
    ) {
        self.id = id
        self.data = data
        self.annotations = annotations
        self.predictions = predictions
    }
}
