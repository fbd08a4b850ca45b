import Foundation
import Testing

@testable import PipelineCommon

/// Every case of AWS's SigV4 test suite (`../shared/testdata/aws-sigv4-test-suite`), in
/// both the header and the query (presigned) form: canonical request, string to sign and
/// signature each checked on its own.
@Suite("SigV4 against AWS's published test suite")
struct SigV4TestSuiteTests {
    /// `../shared` beside the checkout, as CI lays it out; `PIPELINE_SHARED_DIR` overrides.
    static let suiteDirectory: URL = {
        let shared =
            ProcessInfo.processInfo.environment["PIPELINE_SHARED_DIR"].map { URL(fileURLWithPath: $0) }
            ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("shared")
        return shared.appendingPathComponent("testdata/aws-sigv4-test-suite")
    }()

    static let cases: [String] = {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: suiteDirectory.path)) ?? []
        return names.filter {
            FileManager.default.fileExists(atPath: suiteDirectory.appendingPathComponent($0 + "/context.json").path)
        }
        .sorted()
    }()

    struct Context: Decodable {
        struct Credentials: Decodable {
            let access_key_id: String
            let secret_access_key: String
            let token: String?
        }
        let credentials: Credentials
        let expiration_in_seconds: Int
        let normalize: Bool
        let region: String
        let service: String
        let sign_body: Bool
        let timestamp: String
        let omit_session_token: Bool?
    }

    struct ParsedRequest {
        let method: String
        let path: String
        let query: String
        let headers: [(String, String)]
        let body: Data
    }

    static func read(_ name: String, _ file: String) throws -> String {
        try String(contentsOf: suiteDirectory.appendingPathComponent("\(name)/\(file)"), encoding: .utf8)
    }

    /// Parses `request.txt`: the request line (whose target may hold spaces), headers with
    /// continuation lines, and the body.
    static func parseRequest(_ text: String) -> ParsedRequest {
        var lines = text.components(separatedBy: "\n")
        let requestLine = lines.removeFirst()
        let method = String(requestLine.prefix { $0 != " " })
        let target = String(requestLine.dropFirst(method.count + 1).dropLast(" HTTP/1.1".count))
        var headers: [(String, String)] = []
        while let line = lines.first, !line.isEmpty {
            lines.removeFirst()
            if line.first == " " || line.first == "\t", let last = headers.popLast() {
                headers.append((last.0, last.1 + "\n" + line))
            } else if let colon = line.firstIndex(of: ":") {
                headers.append((String(line[..<colon]), String(line[line.index(after: colon)...])))
            }
        }
        let body = lines.isEmpty ? "" : lines.dropFirst().joined(separator: "\n")
        let parts = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        return ParsedRequest(
            method: method, path: String(parts[0]), query: parts.count > 1 ? String(parts[1]) : "",
            headers: headers, body: Data(body.utf8))
    }

    static func signer(_ context: Context) -> SigV4Signer {
        let token = context.omit_session_token == true ? nil : context.credentials.token
        return SigV4Signer(
            credentials: AWSCredentials(
                accessKeyId: context.credentials.access_key_id,
                secretAccessKey: context.credentials.secret_access_key, sessionToken: token),
            region: context.region, service: context.service,
            pathHandling: .encodedAgain(normalized: context.normalize))
    }

    static func load(_ name: String) throws -> (Context, ParsedRequest, Date) {
        let context = try JSONDecoder().decode(Context.self, from: Data(try read(name, "context.json").utf8))
        let date = try #require(ISO8601DateFormatter().date(from: context.timestamp))
        return (context, parseRequest(try read(name, "request.txt")), date)
    }

    @Test func theSuiteIsThere() {
        #expect(
            Self.cases.count >= 30,
            "expected the AWS SigV4 test suite at \(Self.suiteDirectory.path) (shared/ beside the checkout, or PIPELINE_SHARED_DIR)"
        )
    }

    @Test(arguments: cases)
    func headerForm(_ name: String) throws {
        let (context, parsed, date) = try Self.load(name)
        let signer = Self.signer(context)
        let payloadHash = Hex.encode(SHA256.hash(parsed.body))
        var headers = parsed.headers
        headers.append(("X-Amz-Date", SigV4Signer.timestamp(date).full))
        if context.sign_body { headers.append(("x-amz-content-sha256", payloadHash)) }
        if let token = signer.credentials.sessionToken { headers.append(("X-Amz-Security-Token", token.value)) }
        let request = SigV4Signer.Request(
            method: parsed.method, path: parsed.path, query: parsed.query, headers: headers, payloadHash: payloadHash)

        let canonical = signer.canonicalRequest(request)
        #expect(canonical == (try Self.read(name, "header-canonical-request.txt")))
        let toSign = signer.stringToSign(canonicalRequest: canonical, date: date)
        #expect(toSign == (try Self.read(name, "header-string-to-sign.txt")))
        let signature = signer.signature(stringToSign: toSign, date: date)
        #expect(
            signature == (try Self.read(name, "header-signature.txt")).trimmingCharacters(in: .whitespacesAndNewlines))
        let signedRequest = try Self.read(name, "header-signed-request.txt")
        #expect(signedRequest.contains("Authorization:" + signer.authorization(for: request, date: date)))
    }

    @Test(arguments: cases)
    func queryForm(_ name: String) throws {
        let (context, parsed, date) = try Self.load(name)
        let signer = Self.signer(context)
        let request = SigV4Signer.Request(
            method: parsed.method, path: parsed.path, query: parsed.query, headers: parsed.headers,
            payloadHash: Hex.encode(SHA256.hash(parsed.body)))
        let query = signer.presignedQuery(for: request, expires: .seconds(context.expiration_in_seconds), date: date)
        let signatureRange = try #require(query.range(of: "&X-Amz-Signature="))
        var unsigned = request
        unsigned.query = String(query[..<signatureRange.lowerBound])

        let canonical = signer.canonicalRequest(unsigned)
        #expect(canonical == (try Self.read(name, "query-canonical-request.txt")))
        let toSign = signer.stringToSign(canonicalRequest: canonical, date: date)
        #expect(toSign == (try Self.read(name, "query-string-to-sign.txt")))
        #expect(
            String(query[signatureRange.upperBound...])
                == (try Self.read(name, "query-signature.txt")).trimmingCharacters(in: .whitespacesAndNewlines))
    }

    @Test func s3SignsThePathAsSent() {
        let signer = SigV4Signer(
            credentials: AWSCredentials(accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret"), region: "us-east-1")
        #expect(signer.pathHandling == .asSent)
        // An encoded key with a double slash, a dot segment and an encoded percent stays exactly as sent.
        #expect(signer.canonicalURI("/bucket/a//b/../c%2520d") == "/bucket/a//b/../c%2520d")
        let generic = SigV4Signer(
            credentials: AWSCredentials(accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret"), region: "us-east-1",
            service: "service")
        #expect(generic.canonicalURI("/a//b/../c%20d") == "/a/c%2520d")
    }

    @Test func theSigningKeyIsCachedPerDay() {
        let signer = SigV4Signer(
            credentials: AWSCredentials(
                accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
            region: "us-east-1", service: "iam")
        let day1 = Date(timeIntervalSince1970: 1_440_938_160)  // 2015-08-30T12:36:00Z
        // The key AWS's documentation derives for 20150830/us-east-1/iam.
        let expected = "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9"
        #expect(Hex.encode(signer.signingKey(date: day1)) == expected)
        #expect(Hex.encode(signer.signingKey(date: day1.addingTimeInterval(3600))) == expected)
        #expect(Hex.encode(signer.signingKey(date: day1.addingTimeInterval(86_400))) != expected)
    }
}
