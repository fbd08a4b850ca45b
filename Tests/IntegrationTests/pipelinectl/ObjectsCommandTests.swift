import Foundation
import TestSupport
import Testing

@Suite(
    "pipelinectl objects against the signature-checking S3 server",
    .enabled(if: Services.available("PIPELINE_TEST_S3_ENDPOINT"), Services.skipReason))
struct ObjectsCommandTests {
    @Test func copiesBothWaysListsAndPresigns() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        var environment = try Services.pipelineEnvironment(stagingRoot: dir.path)
        let prefix = "cli-\(UUID().uuidString.prefix(8))"
        environment["PIPELINE_OBJECT_STORE_URL"] = "s3://\(try Services.value("PIPELINE_TEST_S3_BUCKET"))/\(prefix)"
        let source = dir.file("photo one.jpg")
        try Data((0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }).write(to: URL(fileURLWithPath: source))

        let up = try await Command.run(
            "pipelinectl", ["objects", "cp", source, "store:raw/"], environment: environment)
        #expect(up.status == 0, "\(up.stderr)")
        #expect(up.stdout.contains("raw/photo one.jpg (300000 bytes"))

        let list = try await Command.run("pipelinectl", ["objects", "ls", "-r", "--json"], environment: environment)
        #expect(list.status == 0, "\(list.stderr)")
        let line =
            try JSONSerialization.jsonObject(
                with: Data(list.stdout.split(separator: "\n").first.map(String.init)!.utf8)) as? [String: Any]
        #expect(line?["key"] as? String == "raw/photo one.jpg")
        #expect(line?["size"] as? Int == 300_000)

        let folders = try await Command.run("pipelinectl", ["objects", "ls"], environment: environment)
        #expect(folders.stdout.contains("PRE raw/"))

        let back = dir.file("back.jpg")
        let down = try await Command.run(
            "pipelinectl", ["objects", "cp", "store:raw/photo one.jpg", back], environment: environment)
        #expect(down.status == 0, "\(down.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: back)) == Data(contentsOf: URL(fileURLWithPath: source)))

        let presign = try await Command.run(
            "pipelinectl", ["objects", "presign", "store:raw/photo one.jpg", "--expires", "120"],
            environment: environment)
        #expect(presign.status == 0)
        #expect(presign.stdout.contains("photo%20one.jpg?X-Amz-Algorithm=AWS4-HMAC-SHA256"))
        #expect(presign.stdout.contains("X-Amz-Expires=120"))

        let missing = try await Command.run(
            "pipelinectl", ["objects", "cp", "store:raw/none.jpg", back + "2"], environment: environment)
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("NotFound"))
        #expect(!FileManager.default.fileExists(atPath: back + "2.partial"))

        let usage = try await Command.run("pipelinectl", ["objects", "cp", source, back], environment: environment)
        #expect(usage.status == 2)

        var wrong = environment
        wrong["AWS_SECRET_ACCESS_KEY"] = "not-it"
        let denied = try await Command.run("pipelinectl", ["objects", "ls"], environment: wrong)
        #expect(denied.status == 1)
        #expect(denied.stderr.contains("SignatureDoesNotMatch"))
        #expect(!denied.stderr.contains("not-it"))
    }
}
