import Foundation
import Orchestration
import TestSupport
import Testing

@Suite("pipelinectl experiment fuse: a folder of scores files, text and JSON, bad input exit 2")
struct ExperimentCommandTests {
    @Test func fusesAFolderOfScoresFiles() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let scores = dir.file("scores")
        try FileManager.default.createDirectory(atPath: scores, withIntermediateDirectories: true)
        try """
        split,id,label,neg,pos
        validation,v1,pos,0.2,0.8
        validation,v2,neg,0.6,0.4
        validation,v3,pos,0.4,0.6
        validation,v4,neg,0.9,0.1
        test,t1,pos,0.3,0.7
        test,t2,neg,0.45,0.55
        """.write(toFile: scores + "/A.csv", atomically: true, encoding: .utf8)
        try """
        split,id,label,neg,pos
        validation,v1,pos,1,3
        validation,v2,neg,2,2
        validation,v3,pos,3,1
        validation,v4,neg,3,0
        test,t1,pos,0,5
        test,t2,neg,4,1
        """.write(toFile: scores + "/B.csv", atomically: true, encoding: .utf8)
        let text = try await Command.run("pipelinectl", ["experiment", "fuse", "--scores", scores], environment: [:])
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stdout.contains("best fusion on validation:       A+B (score-ps)"), "\(text.stdout)")
        #expect(text.stdout.contains("best single model on validation: A"))
        let json = try await Command.run(
            "pipelinectl", ["experiment", "fuse", "--scores", scores, "--json"], environment: [:])
        let result = try JSONDecoder().decode(CombinatorialFusion.Result.self, from: Data(json.stdout.utf8))
        #expect(result.combinations.count == 6 && result.testItems == 2 && result.bestSingle.model == "A")

        try "split,id,label,neg,pos\nvalidation,v1,pos,x,1\n".write(
            toFile: scores + "/C.csv", atomically: true, encoding: .utf8)
        let bad = try await Command.run("pipelinectl", ["experiment", "fuse", "--scores", scores], environment: [:])
        #expect(bad.status == 2 && bad.stderr.contains("C.csv line 2"), "\(bad.stderr)")
    }
}
