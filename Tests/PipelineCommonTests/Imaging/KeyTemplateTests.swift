import Testing

@testable import PipelineCommon

@Suite("Key templates: placeholders replaced in one pass")
struct KeyTemplateTests {
    @Test func everyPlaceholderIsReplacedAndAValueIsNeverReadAsAPlaceholder() throws {
        let template = try KeyTemplate.parse("{dataset}/{variant}/{path}-{width}x{height}.{ext}").get()
        let key = template.render([
            "dataset": "cats", "variant": "small", "path": "a/{stem}", "width": "256", "height": "192", "ext": "jpg",
        ])
        #expect(key == "cats/small/a/{stem}-256x192.jpg")
        let standard = KeyTemplate.standard.render(["dataset": "d", "variant": "v", "sha256": "ab", "ext": "png"])
        #expect(standard == "d/v/ab.png")
        // A placeholder without a value renders as nothing, as it always did.
        #expect(try KeyTemplate.parse("{variant}/{stem}{ext}").get().render(["variant": "v", "stem": "s"]) == "v/s")
    }
}
