/// The Label Studio labeling config that matches the results this project writes: boxes
/// as `rectanglelabels` named `label`, whole-image classes as `choices` named `choice`,
/// both on the image `image`.
public enum LabelingConfig {
    public static func xml(labels: [String]) -> String {
        let options = labels.map { "    <Label value=\"\(escape($0))\"/>" }.joined(separator: "\n")
        let choices = labels.map { "    <Choice value=\"\(escape($0))\"/>" }.joined(separator: "\n")
        return """
            <View>
              <Image name="\(AnnotationConverter.imageToName)" value="$image"/>
              <RectangleLabels name="\(AnnotationConverter.rectangleFromName)" toName="\(AnnotationConverter.imageToName)">
            \(options)
              </RectangleLabels>
              <Choices name="\(AnnotationConverter.choiceFromName)" toName="\(AnnotationConverter.imageToName)" choice="single">
            \(choices)
              </Choices>
            </View>
            """
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "\"", with: "&quot;")
            .replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}
