import Foundation
import IngestStage
import Logging
import PipelineCommon
import TestSupport
import StageCommand
import Testing

/// SNS message signatures (SignatureVersion 1 and 2), made by an independent signer
/// (`scripts/peers/sns_signer.py`, Python's `cryptography`) with a local CA's key whose
/// certificate is served over HTTPS on loopback, the trusted host configured for it.
@Suite(
    "SNS signatures verified before a message is acted on",
    .enabled(if: Services.available("PIPELINE_TEST_PYTHON"), Services.skipReason))
struct SNSSignatureTests {
    static let topic = "arn:aws:sns:us-east-1:123456789012:uploads"

    static func notification(_ records: String, id: String) -> [String: Any] {
        [
            "Type": "Notification", "MessageId": id, "TopicArn": topic, "Subject": "Amazon S3 Notification",
            "Message": records, "Timestamp": "2026-12-06T10:00:00.000Z",
        ]
    }

    @Test func signedMessagesAreActedOnAndEveryOtherIsRefusedWith403() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let python = try Services.value("PIPELINE_TEST_PYTHON")
        let signer = Services.packageRoot.appendingPathComponent("scripts/peers/sns_signer.py").path
        let keys = dir.file("sns")
        let setup = try await Command.run(python, [signer, "setup", keys], environment: ["HOME": dir.path])
        #expect(setup.status == 0, "\(setup.stderr)")
        let server = Process()
        server.executableURL = URL(fileURLWithPath: python)
        server.arguments = [signer, "serve", keys]
        server.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try server.run()
        // SIGKILL: the child inherits a signal mask in which SIGTERM may be blocked.
        defer { kill(server.processIdentifier, SIGKILL) }
        var port = ""
        for _ in 0..<200 where port.isEmpty {
            try await Task.sleep(for: .milliseconds(25))
            port = (try? String(contentsOfFile: keys + "/port", encoding: .utf8)) ?? ""
        }
        let host = "127.0.0.1:\(port)"
        let certificate = "https://\(host)/signing.pem"

        // An ingest stage on the embedded stores, trusting the local CA and the certificate host.
        let environment = [
            "PIPELINE_OBJECT_STORE_URL": "file://\(dir.path)/objects",
            "PIPELINE_MANIFEST_URL": "sqlite://\(dir.path)/manifest.db",
            "PIPELINE_STAGING_ROOT": dir.path + "/staging", "PIPELINE_STAGING_RESERVE_MIB": "0", "HOME": dir.path,
            "PIPELINE_SNS_CERTIFICATE_HOSTS": host, "AWS_CA_BUNDLE": keys + "/ca.pem",
        ]
        let configuration = try PipelineConfiguration.load(environment: environment)
        let logger = Logger(label: "sns-test")
        let http = HTTPClient(configuration: .init(configuration.http), logger: logger)
        let manifests = try await ManifestStoreFactory.openMigrated(configuration)
        let ingestor = Ingestor(
            configuration: configuration, objects: try FileObjectStore(root: dir.path + "/objects"),
            manifests: manifests, logger: logger)
        let endpoint = NotificationEndpoint(ingestor: ingestor, http: http, logger: logger)
        let signatures = try #require(endpoint.signatures, "verification is on by default")

        func records(_ key: String) -> String {
            #"{"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"raw/\#(key)","size":5,"eTag":"e-\#(key)"}}}]}"#
        }
        func sign(_ messages: [[String: Any]], version: String) async throws -> [[String: Any]] {
            let input = dir.file("unsigned-\(UUID().uuidString).json")
            try JSONSerialization.data(withJSONObject: messages).write(to: URL(fileURLWithPath: input))
            let signed = try await Command.run(
                "/bin/sh", ["-c", "\"$0\" \"$1\" sign \"$2\" \"$3\" < \"$4\"", python, signer, keys, version, input],
                environment: ["HOME": dir.path])
            #expect(signed.status == 0, "\(signed.stderr)")
            return try #require(try JSONSerialization.jsonObject(with: Data(signed.stdout.utf8)) as? [[String: Any]])
        }
        func deliver(_ message: [String: Any]) async throws -> (status: Int, message: String) {
            await endpoint.deliver(try JSONSerialization.data(withJSONObject: message), authorization: nil)
        }
        let base = [
            Self.notification(records("v1.jpg"), id: "m1").merging(["SigningCertURL": certificate]) { $1 }
        ]
        let v1 = try await sign(base, version: "1")[0]
        let v2 = try await sign(
            [Self.notification(records("v2.jpg"), id: "m2").merging(["SigningCertURL": certificate]) { $1 }],
            version: "2")[0]

        // Both signature versions verify and their events are queued; the certificate is fetched once.
        #expect(try await deliver(v1) == (200, "queued 1 of 1 events"))
        #expect(try await deliver(v2) == (200, "queued 1 of 1 events"))
        #expect(await signatures.downloads == 1)

        // Every way a message can be wrong is refused with 403 and a reason, and nothing is queued.
        var refused: [(String, [String: Any], String)] = [
            ("a changed message", v2.merging(["Message": records("evil.jpg")]) { $1 }, "does not verify"),
            ("a changed subject", v1.merging(["Subject": "other"]) { $1 }, "does not verify"),
            ("SignatureVersion 1 claimed for a SHA-256 signature", v2.merging(["SignatureVersion": "1"]) { $1 },
                "does not verify"),
            ("another key's certificate", v1.merging(["SigningCertURL": "https://\(host)/other.pem"]) { $1 },
                "does not verify"),
            ("a certificate over plain HTTP", v1.merging(["SigningCertURL": "http://\(host)/signing.pem"]) { $1 },
                "is not HTTPS"),
            ("a certificate from an untrusted host",
                v1.merging(["SigningCertURL": "https://sns.us-east-1.amazonaws.com.evil.example/x.pem"]) { $1 },
                "not sns.<region>.amazonaws.com"),
            ("a certificate that is not a .pem", v1.merging(["SigningCertURL": "https://\(host)/signing.txt"]) { $1 },
                "does not name a .pem"),
            ("no signature", v1.filter { $0.key != "Signature" }, "unsigned"),
            ("SignatureVersion 3", v1.merging(["SignatureVersion": "3"]) { $1 }, "is not 1"),
            ("a signature that is not base64", v1.merging(["Signature": "%%%"]) { $1 }, "not base64"),
        ]
        refused.append(("a missing certificate", v1.merging(["SigningCertURL": "https://\(host)/gone.pem"]) { $1 }, "HTTP 404"))
        for (what, message, reason) in refused {
            let (status, text) = try await deliver(message)
            #expect(status == 403, "\(what): \(status) \(text)")
            #expect(text.contains(reason), "\(what): \(text)")
        }
        #expect(try await manifests.queueCounts(queue: "ingest/images")[.available] == 2, "only the signed events")

        // A subscription handshake is confirmed only when signed: a forged one makes no request.
        let subscribe = "https://\(host)/confirm.pem?Action=ConfirmSubscription"
        let confirmation: [String: Any] = [
            "Type": "SubscriptionConfirmation", "MessageId": "m3", "TopicArn": Self.topic, "Token": "tok",
            "Message": "You have chosen to subscribe", "SubscribeURL": subscribe,
            "Timestamp": "2026-12-06T10:00:01.000Z", "SigningCertURL": certificate,
        ]
        let signedConfirmation = try await sign([confirmation], version: "2")[0]
        let forged = signedConfirmation.merging(["SubscribeURL": "https://\(host)/forged.pem"]) { $1 }
        #expect(try await deliver(forged).status == 403)
        FileManager.default.createFile(atPath: keys + "/public/confirm.pem", contents: Data("ok".utf8))
        let confirmed = try await deliver(signedConfirmation)
        #expect(confirmed.status == 200 && confirmed.message.contains("confirmed"), "\(confirmed)")
        let requests = try String(contentsOfFile: keys + "/requests.log", encoding: .utf8)
        #expect(!requests.contains("forged"), "the forged SubscribeURL was never fetched: \(requests)")
        #expect(requests.contains("/confirm.pem?Action=ConfirmSubscription"))
        #expect(requests.split(separator: "\n").filter { $0 == "/signing.pem" }.count == 1, "cached: \(requests)")

        // Verification off (a sender like moto that cannot sign): the same forged message passes.
        let off = try PipelineConfiguration.load(
            environment: environment.merging(["PIPELINE_SNS_VERIFY_SIGNATURES": "false"]) { $1 })
        let unverified = NotificationEndpoint(
            ingestor: Ingestor(
                configuration: off, objects: try FileObjectStore(root: dir.path + "/objects"), manifests: manifests,
                logger: logger), http: http, logger: logger)
        #expect(unverified.signatures == nil)
        #expect(
            await unverified.deliver(
                try JSONSerialization.data(withJSONObject: refused[0].1), authorization: nil) == (200, "queued 1 of 1 events"))
    }

    @Test func onlySNSHostsOrTrustedOnesServeCertificates() {
        func problem(_ url: String, trusted: [String] = []) -> String? {
            guard let parsed = URL(string: url) else { return "not a URL" }
            return SNSSignedMessage.certificateURLProblem(parsed, trustedHosts: trusted)
        }
        #expect(problem("https://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem") == nil)
        #expect(problem("https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-abc.pem") == nil)
        #expect(problem("https://sns.eu-central-1.amazonaws.com/x.pem") == nil)
        for bad in [
            "http://sns.us-east-1.amazonaws.com/x.pem", "https://sns.us-east-1.amazonaws.com/x.pem.txt",
            "https://evil.com/sns.us-east-1.amazonaws.com/x.pem", "https://sns.us-east-1.amazonaws.com.evil.com/x.pem",
            "https://s3.us-east-1.amazonaws.com/x.pem", "https://sns.amazonaws.com/x.pem",
            "https://sns.us_east.amazonaws.com/x.pem", "https://sns.us-east-1.amazonaws.com:8443/x.pem",
            "https://user@sns.us-east-1.amazonaws.com/x.pem", "https://127.0.0.1:8443/x.pem",
        ] {
            #expect(problem(bad) != nil, "\(bad)")
        }
        #expect(problem("https://127.0.0.1:8443/x.pem", trusted: ["127.0.0.1:8443"]) == nil)
        #expect(problem("https://127.0.0.1:9443/x.pem", trusted: ["127.0.0.1:8443"]) != nil)
        #expect(problem("https://sns.local/x.pem", trusted: ["sns.local"]) == nil)
    }
}
