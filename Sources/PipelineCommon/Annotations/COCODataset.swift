/// A COCO "instances" file: images, annotations with absolute `[x, y, width, height]`
/// boxes, and categories.
public struct COCODataset: Sendable, Equatable, Codable {
    public struct Image: Sendable, Equatable, Codable {
        public var id: Int
        public var fileName: String
        public var width: Int
        public var height: Int

        public init(id: Int, fileName: String, width: Int, height: Int) {
            self.id = id
            self.fileName = fileName
            self.width = width
            self.height = height
        }

        enum CodingKeys: String, CodingKey {
            case id, width, height
            case fileName = "file_name"
        }
    }

    public struct Annotation: Sendable, Equatable, Codable {
        public var id: Int
        public var imageId: Int
        public var categoryId: Int
        /// `[x, y, width, height]` in absolute pixels.
        public var bbox: [Double]
        public var area: Double
        public var iscrowd: Int
        /// Present in COCO results files (predictions).
        public var score: Double?

        public init(
            id: Int, imageId: Int, categoryId: Int, bbox: [Double], area: Double, iscrowd: Int = 0, score: Double? = nil
        ) {
            self.id = id
            self.imageId = imageId
            self.categoryId = categoryId
            self.bbox = bbox
            self.area = area
            self.iscrowd = iscrowd
            self.score = score
        }

        /// Reads what real COCO files hold: `area` and `iscrowd` are often left out, and
        /// segmentation-only annotations have no `bbox` (they are kept with an empty one).
        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            id = try container.decode(Int.self, forKey: .id)
            imageId = try container.decode(Int.self, forKey: .imageId)
            categoryId = try container.decode(Int.self, forKey: .categoryId)
            bbox = try container.decodeIfPresent([Double].self, forKey: .bbox) ?? []
            area =
                try container.decodeIfPresent(Double.self, forKey: .area)
                ?? (bbox.count == 4 ? bbox[2] * bbox[3] : 0)
            iscrowd = try container.decodeIfPresent(Int.self, forKey: .iscrowd) ?? 0
            score = try container.decodeIfPresent(Double.self, forKey: .score)
        }

        enum CodingKeys: String, CodingKey {
            case id, bbox, area, iscrowd, score
            case imageId = "image_id"
            case categoryId = "category_id"
        }
    }

    public struct Category: Sendable, Equatable, Codable {
        public var id: Int
        public var name: String
        public var supercategory: String?

        public init(id: Int, name: String, supercategory: String? = nil) {
            self.id = id
            self.name = name
            self.supercategory = supercategory
        }
    }

    public var images: [Image]
    public var annotations: [Annotation]
    public var categories: [Category]

    public init(images: [Image], annotations: [Annotation], categories: [Category]) {
        self.images = images
        self.annotations = annotations
        self.categories = categories
    }
}
