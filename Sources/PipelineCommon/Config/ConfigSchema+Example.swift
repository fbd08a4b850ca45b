extension ConfigSchema {
    /// The documented example configuration: every key with its meaning, its environment
    /// overrides and its default. `config/pipeline.example.yaml` is this text.
    public func exampleYAML() -> String {
        var lines = [
            "# Image pipeline configuration: every key, its environment overrides and its default.",
            "# Load with --config FILE; environment variables beat the file; unset keys take the default.",
            "# Locations are URLs: s3://, file://, postgres://, sqlite://. Check a file with:",
            "#   pipelinectl config check --config FILE",
            "# ${DATA_DIR}, in any value, is $PIPELINE_DATA_DIR, else $XDG_DATA_HOME/image-pipeline, else ~/.local/share/image-pipeline.",
        ]
        for section in sections {
            lines.append("")
            lines.append("# \(section.help)")
            lines.append("\(section.name):")
            for key in section.keys {
                let name = String(key.path.dropFirst(section.name.count + 1))
                lines.append("  # \(key.help)")
                var facts = ["expects \(key.expectation)"]
                if !key.environment.isEmpty { facts.append("env " + key.environment.joined(separator: ", ")) }
                if key.isSecret { facts.append("secret: redacted in output") }
                lines.append("  # " + facts.joined(separator: "; "))
                if let value = key.defaultValue {
                    lines.append("  \(name): \(YAMLText.quoteIfNeeded(value))")
                } else {
                    lines.append("  # \(name):")
                }
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
