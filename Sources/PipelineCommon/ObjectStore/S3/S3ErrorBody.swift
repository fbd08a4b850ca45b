import Foundation

/// The fields of an S3 XML error body (`<Error><Code>…</Code><Message>…</Message><RequestId>…`).
struct S3ErrorBody {
    let code: String?
    let message: String?
    let requestId: String?

    init(_ body: Data) {
        let root = S3XMLElement.parse(body)
        let error = root?.name == "Error" ? root : root?.child("Error")
        code = error?.value("Code")
        message = error?.value("Message")
        requestId = error?.value("RequestId")
    }
}
