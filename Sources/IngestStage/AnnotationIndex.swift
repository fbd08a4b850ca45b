import Foundation
import PipelineCommon

/// Annotations from COCO instances files and Label Studio JSON exports, looked up by an
/// image's object key or file name.
///
/// Label Studio refers to images as `s3://bucket/key`, `/data/local-files/?d=key`,
/// `http(s)://host/key` or `/data/upload/<project>/<8 hex>-<name>`; COCO by `file_name`.
/// A lookup tries the whole key, the key inside the raw prefix, then the bare file name
/// (only when one image of the index has that name).
public struct AnnotationIndex: Sendable {
    /// One annotation file that was read.
    public struct Source: Sendable, Equatable {
        public let key: String
        public let format: String
        public let images: Int
    }

    public private(set) var sources: [Source] = []
    private var byPath: [String: [ImageAnnotation]] = [:]
    /// nil marks a file name that two different paths share: too ambiguous to match on.
    private var byName: [String: [ImageAnnotation]?] = [:]
    private var pathOfName: [String: String] = [:]

    public init() {}

    public var isEmpty: Bool { byPath.isEmpty }

    /// Adds the annotations of one file, COCO or Label Studio, told apart by their shape.
    ///
    /// - Throws: ``AnnotationFileError`` saying what the file is not.
    public mutating func add(json data: Data, from key: String) throws(AnnotationFileError) {
        let top: Any
        do {
            top = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw AnnotationFileError(key: key, reason: "not JSON (\(error.localizedDescription))")
        }
        if let object = top as? [String: Any], object["images"] != nil, object["annotations"] != nil {
            let coco: COCODataset
            do {
                coco = try JSONDecoder().decode(COCODataset.self, from: data)
            } catch {
                throw AnnotationFileError(key: key, reason: "a COCO file with a wrong field: \(Self.describe(error))")
            }
            let annotations = AnnotationConverter.annotations(from: coco)
            for image in coco.images { insert(annotations[image.fileName] ?? [], for: image.fileName) }
            sources.append(Source(key: key, format: "coco", images: coco.images.count))
        } else if top is [Any] {
            let tasks: [ExportedTask]
            do {
                tasks = try JSONDecoder().decode([ExportedTask].self, from: data)
            } catch {
                throw AnnotationFileError(
                    key: key, reason: "a Label Studio export with a wrong field: \(Self.describe(error))")
            }
            var count = 0
            for task in tasks {
                guard let reference = task.imageReference else { continue }
                // The first annotation not cancelled, as Label Studio's converter takes it;
                // predictions only when no human annotated the task.
                let results =
                    task.annotations?.first { $0.wasCancelled != true }?.result ?? task.predictions?.first?.result ?? []
                insert(AnnotationConverter.annotations(from: results), for: reference)
                count += 1
            }
            sources.append(Source(key: key, format: "label-studio", images: count))
        } else {
            throw AnnotationFileError(
                key: key,
                reason:
                    "neither a COCO instances file (an object with images and annotations) nor a Label Studio export (a list of tasks)"
            )
        }
    }

    /// The annotations of the image stored under `key`, or nil when no file mentions it.
    public func annotations(for key: String, rawPrefix: String) -> [ImageAnnotation]? {
        if let found = byPath[key] { return found }
        if !rawPrefix.isEmpty, key.hasPrefix(rawPrefix), let found = byPath[String(key.dropFirst(rawPrefix.count))] {
            return found
        }
        if let found = byName[Self.fileName(key)] { return found }
        return nil
    }

    private mutating func insert(_ annotations: [ImageAnnotation], for reference: String) {
        let path = Self.path(of: reference)
        byPath[path] = annotations
        var names = [Self.fileName(path)]
        if let upload = Self.withoutUploadPrefix(names[0]) { names.append(upload) }
        for name in names {
            if let other = pathOfName[name], other != path {
                byName[name] = .some(nil)
            } else {
                pathOfName[name] = path
                byName[name] = annotations
            }
        }
    }

    /// The object path an image reference points at.
    static func path(of reference: String) -> String {
        if let components = URLComponents(string: reference) {
            if let local = components.queryItems?.first(where: { $0.name == "d" })?.value,
                components.path.contains("/data/local-files")
            {
                return local.hasPrefix("/") ? String(local.dropFirst()) : local
            }
            switch components.scheme?.lowercased() {
            case "s3", "gs", "azure-blob", "http", "https":
                let path = components.percentEncodedPath.removingPercentEncoding ?? components.path
                return path.hasPrefix("/") ? String(path.dropFirst()) : path
            default:
                break
            }
        }
        return reference.hasPrefix("/") ? String(reference.dropFirst()) : reference
    }

    static func fileName(_ path: String) -> String {
        path.split(separator: "/", omittingEmptySubsequences: false).last.map(String.init) ?? path
    }

    /// Label Studio stores uploads as `<8 hex>-<original name>`.
    static func withoutUploadPrefix(_ name: String) -> String? {
        let parts = name.split(separator: "-", maxSplits: 1)
        guard parts.count == 2, parts[0].count == 8, parts[0].allSatisfy(\.isHexDigit) else { return nil }
        return String(parts[1])
    }

    private static func describe(_ error: any Error) -> String {
        switch error as? DecodingError {
        case .keyNotFound(let key, let context):
            "missing \(Self.codingPath(context.codingPath + [key]))"
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            "\(Self.codingPath(context.codingPath)): \(context.debugDescription)"
        default:
            "\(error)"
        }
    }

    private static func codingPath(_ path: [any CodingKey]) -> String {
        path.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
    }
}

/// An annotation file that could not be used, and why.
public struct AnnotationFileError: Error, Sendable, CustomStringConvertible {
    public let key: String
    public let reason: String
    public var description: String { "annotation file \(key) is \(reason); fix or remove it" }
}

/// A task of a Label Studio JSON export, read loosely: `data` values may be any JSON.
struct ExportedTask: Decodable {
    struct Field: Decodable {
        let text: String?
        init(from decoder: any Decoder) throws {
            text = try? decoder.singleValueContainer().decode(String.self)
        }
    }

    struct Annotation: Decodable {
        let result: [LabelStudioTask.Result]
        let wasCancelled: Bool?
        enum CodingKeys: String, CodingKey {
            case result
            case wasCancelled = "was_cancelled"
        }
    }

    let data: [String: Field]
    let annotations: [Annotation]?
    let predictions: [LabelStudioTask.Prediction]?

    /// `data.image` (the labeling config's `$image`), else the only text field.
    var imageReference: String? {
        if let image = data["image"]?.text { return image }
        let texts = data.values.compactMap(\.text)
        return texts.count == 1 ? texts[0] : nil
    }
}
