import Foundation
import Testing

@testable import PipelineCommon

/// botocore's own signer as the judge: a few hundred generated S3 requests (keys with
/// spaces, `+`, `%`, `~`, unicode, `//`; empty query values; session tokens), signed by
/// both at the same time with the same credentials, must give the same signature.
@Suite(
    "SigV4 cross-checked against botocore",
    .enabled(if: Services.available("PIPELINE_TEST_PYTHON"), Services.skipReason))
struct BotocoreSignerCrossCheckTests {
    struct Cases: Decodable {
        struct Case: Decodable {
            let index: Int
            let method: String
            let url: String
            let region: String
            let token: String?
            let payload_hash: String
            let headers: [[String]]
            let authorization: String
            let presigned_url: String
        }
        let timestamp: String
        let cases: [Case]
    }

    @Test func signaturesMatchBotocore() async throws {
        let python = try Services.value("PIPELINE_TEST_PYTHON")
        let script = Services.packageRoot.appendingPathComponent("scripts/peers/botocore_sign.py").path
        let result = try await Command.run(python, [script, "400", "20261122"], environment: ["PATH": "/usr/bin:/bin"])
        try #require(result.status == 0, "botocore_sign.py failed: \(result.stderr)")
        let decoded = try JSONDecoder().decode(Cases.self, from: Data(result.stdout.utf8))
        let date = try #require(ISO8601DateFormatter().date(from: decoded.timestamp))
        #expect(decoded.cases.count == 400)
        var mismatches = 0
        for item in decoded.cases {
            let components = try #require(URLComponents(string: item.url), "case \(item.index): \(item.url)")
            let signer = SigV4Signer(
                credentials: AWSCredentials(
                    accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                    sessionToken: item.token),
                region: item.region)
            let request = SigV4Signer.Request(
                method: item.method, path: components.percentEncodedPath, query: components.percentEncodedQuery ?? "",
                headers: item.headers.map { ($0[0], $0[1]) }, payloadHash: item.payload_hash)
            let ours = signer.authorization(for: request, date: date)
            if ours != item.authorization {
                mismatches += 1
                Issue.record(
                    "case \(item.index) \(item.method) \(item.url):\n ours:     \(ours)\n botocore: \(item.authorization)\n canonical:\n\(signer.canonicalRequest(request))"
                )
            }
            let presigned = signer.presign(
                method: "GET", url: URL(string: item.url)!, expires: .seconds(3600), date: date)
            #expect(
                Self.signatureParameter(presigned.absoluteString) == Self.signatureParameter(item.presigned_url),
                "presigned case \(item.index) \(item.url)")
            if mismatches > 5 { break }
        }
    }

    static func signatureParameter(_ url: String) -> String? {
        URLComponents(string: url)?.queryItems?.first { $0.name == "X-Amz-Signature" }?.value
    }
}
