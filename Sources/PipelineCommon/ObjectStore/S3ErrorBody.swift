import Foundation

/// The fields of an S3 XML error body (`<Error><Code>…</Code><RequestId>…</RequestId></Error>`).
enum S3ErrorBody {
    static func code(in body: Data) -> String? { element("Code", in: body) }
    static func requestId(in body: Data) -> String? { element("RequestId", in: body) }

    static func element(_ name: String, in body: Data) -> String? {
        let text = String(decoding: body, as: UTF8.self)
        guard let open = text.range(of: "<\(name)>"),
            let close = text.range(of: "</\(name)>", range: open.upperBound..<text.endIndex)
        else { return nil }
        return String(text[open.upperBound..<close.lowerBound])
    }
}
