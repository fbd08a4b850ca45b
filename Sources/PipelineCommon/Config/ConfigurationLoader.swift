import Foundation
import Logging
import Yams

/// Resolves every ``ConfigSchema`` key from the environment, the YAML file and the defaults,
/// in that order of precedence, collecting every problem before giving up.
struct ConfigurationLoader {
    let environment: [String: String]
    private var problems: [ConfigProblem] = []
    private var resolved: [String: (raw: String, source: ConfigSource)] = [:]

    init(environment: [String: String]) {
        self.environment = environment
    }

    /// The data directory that the embedded defaults live under.
    var dataDirectory: String {
        if let dir = environment["PIPELINE_DATA_DIR"], !dir.isEmpty { return dir }
        if let xdg = environment["XDG_DATA_HOME"], !xdg.isEmpty { return xdg + "/image-pipeline" }
        return (environment["HOME"] ?? "/tmp") + "/.local/share/image-pipeline"
    }

    mutating func load(file: String?) throws(ConfigurationError) -> PipelineConfiguration {
        var fileValues: [String: (raw: String, line: Int?)] = [:]
        if let file {
            fileValues = try readFile(file)
        }
        for key in ConfigSchema.keys {
            let environment = self.environment
            if let name = key.environment.first(where: { !(environment[$0] ?? "").isEmpty }),
                let value = environment[name]
            {
                resolve(key, raw: value, source: .environment(name))
            } else if let value = fileValues[key.path] {
                let raw = value.raw.replacingOccurrences(of: "${DATA_DIR}", with: dataDirectory)
                resolve(key, raw: raw, source: .file(path: file ?? "", line: value.line))
            } else if let value = key.defaultValue {
                resolve(
                    key, raw: value.replacingOccurrences(of: "${DATA_DIR}", with: dataDirectory), source: .defaultValue)
            }
        }
        let configuration = build()
        guard problems.isEmpty, let configuration else { throw .invalid(problems) }
        return configuration
    }

    // MARK: - File

    private mutating func readFile(_ file: String) throws(ConfigurationError) -> [String: (raw: String, line: Int?)] {
        let text: String
        do {
            text = try String(contentsOfFile: file, encoding: .utf8)
        } catch {
            let reason = FileManager.default.fileExists(atPath: file) ? "not readable as UTF-8 text" : "no such file"
            throw .unreadableFile(path: file, reason: reason)
        }
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            throw .malformedYAML(path: file, reason: "\(error)")
        }
        guard let root else { return [:] }  // An empty file sets nothing.
        guard let mapping = root.mapping else {
            problems.append(
                .init(
                    key: "(top level)", found: "a \(root.kindName)",
                    source: .file(path: file, line: root.mark.map { $0.line }), expected: "a mapping of sections"))
            return [:]
        }
        var values: [String: (raw: String, line: Int?)] = [:]
        let sectionNames = ConfigSchema.sections.map(\.name)
        for (sectionKey, sectionNode) in mapping {
            let section = sectionKey.string ?? "\(sectionKey)"
            let line = sectionKey.mark?.line
            guard sectionNames.contains(section) else {
                problems.append(
                    .init(
                        key: section, found: "an unknown section", source: .file(path: file, line: line),
                        expected: "one of " + sectionNames.joined(separator: ", ")))
                continue
            }
            if sectionNode.null != nil { continue }
            guard let entries = sectionNode.mapping else {
                problems.append(
                    .init(
                        key: section, found: "a \(sectionNode.kindName)", source: .file(path: file, line: line),
                        expected: "a mapping of keys"))
                continue
            }
            let known = ConfigSchema.keys.filter { $0.path.hasPrefix(section + ".") }
            for (entryKey, valueNode) in entries {
                let name = entryKey.string ?? "\(entryKey)"
                let keyPath = "\(section).\(name)"
                let line = valueNode.mark?.line ?? entryKey.mark?.line
                guard let key = known.first(where: { $0.path == keyPath }) else {
                    problems.append(
                        .init(
                            key: keyPath, found: "an unknown key", source: .file(path: file, line: line),
                            expected: "one of " + known.map(\.path).joined(separator: ", ")))
                    continue
                }
                if valueNode.null != nil { continue }  // `key:` or `key: ~` leaves the default.
                if case .variants = key.kind, let list = valueNode.sequence {
                    switch Self.compactVariants(list) {
                    case .success(let text): values[keyPath] = (text, line)
                    case .failure(let reason):
                        problems.append(
                            .init(
                                key: keyPath, found: "a list", source: .file(path: file, line: line),
                                expected: reason.reason))
                    }
                    continue
                }
                guard let scalar = valueNode.scalar else {
                    problems.append(
                        .init(
                            key: keyPath, found: "a \(valueNode.kindName)", source: .file(path: file, line: line),
                            expected: key.expectation))
                    continue
                }
                values[keyPath] = (scalar.string, line)
            }
        }
        return values
    }

    /// A YAML list of variant mappings in the compact form, or what is wrong with it.
    static func compactVariants(_ list: Node.Sequence) -> Result<String, VariantSpecError> {
        func fail(_ reason: String) -> Result<String, VariantSpecError> { .failure(VariantSpecError(reason)) }
        var entries: [String] = []
        for (index, node) in list.enumerated() {
            let label = "normalize.variants[\(index)]"
            guard let mapping = node.mapping else { return fail("\(label) to be a mapping") }
            var fields: [String: String] = [:]
            for (key, value) in mapping {
                guard let name = key.string, let text = value.scalar?.string else {
                    return fail("\(label): scalar values only")
                }
                guard ["name", "size", "width", "height", "fit", "format", "quality", "background"].contains(name)
                else {
                    return fail(
                        "\(label): unknown field \(name); use name, size or width+height, fit, format, quality, background"
                    )
                }
                guard !text.contains(":"), !text.contains(";") else {
                    return fail("\(label).\(name): \"\(text)\" may not contain : or ;")
                }
                fields[name] = text
            }
            guard let name = fields["name"] else { return fail("\(label) to have a name") }
            let size: String
            if let edge = fields["size"] {
                size = edge
            } else if let width = fields["width"], let height = fields["height"] {
                size = "\(width)x\(height)"
            } else {
                return fail("\(label) (\(name)) to have size, or width and height")
            }
            var fit = fields["fit"] ?? "contain"
            if let background = fields["background"] {
                fit += "#" + background.trimmingCharacters(in: CharacterSet(charactersIn: "#"))
            }
            entries.append(
                [name, size, fit, fields["format"] ?? "jpeg", fields["quality"] ?? "85"].joined(separator: ":"))
        }
        return .success(entries.joined(separator: ";"))
    }

    // MARK: - Values

    private mutating func resolve(_ key: ConfigKey, raw: String, source: ConfigSource) {
        let value = raw.trimmingCharacters(in: .whitespaces)
        if let reason = Self.check(value, against: key) {
            let shown = key.isSecret ? Secret.redacted : Redaction.url(value)
            problems.append(.init(key: key.path, found: shown, source: source, expected: reason))
            return
        }
        resolved[key.path] = (key.kind.isPath ? Self.expandTilde(value, home: environment["HOME"]) : value, source)
    }

    /// Why `value` does not fit `key`, or nil when it does.
    static func check(_ value: String, against key: ConfigKey) -> String? {
        switch key.kind {
        case .text:
            return value.isEmpty ? "non-empty text" : nil
        case .url(let schemes):
            guard let components = URLComponents(string: value), let scheme = components.scheme?.lowercased(),
                schemes.contains(scheme)
            else { return key.expectation }
            if scheme == "s3" || scheme == "file" {
                if case .failure(let error) = ObjectStoreLocation.parse(value) { return error.reason }
            } else if ["postgres", "postgresql", "sqlite"].contains(scheme) {
                if case .failure(let error) = ManifestLocation.parse(value) { return error.reason }
            } else if components.host?.isEmpty ?? true {
                return "\(key.expectation) with a host, e.g. \(scheme)://127.0.0.1:8080"
            }
            return nil
        case .integer(let range):
            guard let number = Int(value), range.contains(number) else { return key.expectation }
            return nil
        case .number(let range):
            guard let number = Double(value), range.contains(number) else { return key.expectation }
            return nil
        case .boolean:
            return parseBool(value) == nil ? key.expectation : nil
        case .choice(let values):
            return values.contains(value.lowercased()) ? nil : key.expectation
        case .path:
            return value.hasPrefix("/") || value.hasPrefix("~/") ? nil : key.expectation
        case .variants:
            if case .failure(let error) = VariantSpec.parseList(value) { return error.reason }
            return nil
        case .keyTemplate:
            if case .failure(let error) = KeyTemplate.parse(value) { return error.reason }
            return nil
        case .region:
            // It becomes part of the S3 host name and of every signature's scope.
            let allowed = value.utf8.allSatisfy { (97...122).contains($0) || (48...57).contains($0) || $0 == 45 }
            return !value.isEmpty && allowed && value.utf8.first != 45 && value.utf8.last != 45
                ? nil : key.expectation
        }
    }

    static func parseBool(_ value: String) -> Bool? {
        switch value.lowercased() {
        case "true", "yes", "on", "1": true
        case "false", "no", "off", "0": false
        default: nil
        }
    }

    static func expandTilde(_ path: String, home: String?) -> String {
        guard path.hasPrefix("~/"), let home else { return path }
        return home + path.dropFirst()
    }

    private func string(_ path: String) -> String? { resolved[path]?.raw }

    // A key with a default in ConfigSchema always has a value here (set, or its default, and
    // checked against its kind), so these read it without a second default.
    private func text(_ path: String) -> String {
        guard let raw = resolved[path]?.raw else { preconditionFailure("\(path) has no default in ConfigSchema") }
        return raw
    }
    private func integer(_ path: String) -> Int { parsed(path, Int.init) }
    private func number(_ path: String) -> Double { parsed(path, Double.init) }
    private func flag(_ path: String) -> Bool { parsed(path, Self.parseBool) }
    private func choice<T: RawRepresentable>(_ path: String) -> T where T.RawValue == String {
        parsed(path) { T(rawValue: $0.lowercased()) }
    }
    private func parsed<T>(_ path: String, _ parse: (String) -> T?) -> T {
        guard let value = parse(text(path)) else { preconditionFailure("\(path) was checked but does not parse") }
        return value
    }
    private func int(_ path: String) -> Int? { string(path).flatMap { Int($0) } }
    private func double(_ path: String) -> Double? { string(path).flatMap { Double($0) } }
    private func bool(_ path: String) -> Bool? { string(path).flatMap(Self.parseBool) }

    private mutating func requireTogether(_ first: String, _ second: String) {
        switch (resolved[first], resolved[second]) {
        case (.some(let value), nil):
            problems.append(
                .init(
                    key: second, found: nil, source: nil, expected: "a value, because \(first) is set (\(value.source))"
                ))
        case (nil, .some(let value)):
            problems.append(
                .init(
                    key: first, found: nil, source: nil, expected: "a value, because \(second) is set (\(value.source))"
                ))
        default:
            break
        }
    }

    // MARK: - Typed configuration

    /// `raw` and `raw/` both mean the folder `raw/`; `/` alone means the whole store.
    static func prefix(_ value: String) -> String {
        let trimmed = value.drop { $0 == "/" }
        return trimmed.isEmpty || trimmed.hasSuffix("/") ? String(trimmed) : trimmed + "/"
    }

    private func augmentationPlan() -> AugmentationPlan? {
        let copies = integer("augment.copies")
        guard copies > 0 else { return nil }
        let crop = number("augment.crop_min_area")
        return AugmentationPlan(
            copies: copies, flipHorizontal: flag("augment.flip_horizontal"),
            flipVertical: flag("augment.flip_vertical"), rotate: flag("augment.rotate"),
            brightnessJitter: number("augment.brightness"), contrastJitter: number("augment.contrast"),
            cropMinimumArea: crop < 1 ? crop : nil, seed: UInt64(integer("augment.seed")))
    }

    private mutating func build() -> PipelineConfiguration? {
        requireTogether("object_store.access_key_id", "object_store.secret_access_key")
        if resolved["object_store.session_token"] != nil, resolved["object_store.access_key_id"] == nil {
            problems.append(
                .init(
                    key: "object_store.access_key_id", found: nil, source: nil,
                    expected: "a value, because object_store.session_token is set"))
        }
        requireTogether("mlflow.username", "mlflow.password")
        if let text = string("train.convolutions"),
            text.split(separator: ",").contains(where: {
                Int($0.trimmingCharacters(in: .whitespaces)).map { $0 < 1 || $0 > 512 } ?? true
            })
        {
            problems.append(
                .init(
                    key: "train.convolutions", found: text, source: resolved["train.convolutions"]?.source,
                    expected: "channel counts 1 to 512 separated by commas, e.g. 8,16,32"))
        }
        if string("train.backend") == "command", string("train.command") == nil {
            problems.append(
                .init(
                    key: "train.command", found: nil, source: nil,
                    expected: "the trainer to run, because train.backend is command"))
        }
        if let text = string("normalize.variants"), case .success(let variants) = VariantSpec.parseList(text),
            let train = string("normalize.train_variant"), !variants.contains(where: { $0.name == train })
        {
            problems.append(
                .init(
                    key: "normalize.train_variant", found: train, source: resolved["normalize.train_variant"]?.source,
                    expected: "one of the variants: " + variants.map(\.name).joined(separator: ", ")))
        }
        if let source = resolved["label_studio.api_key"]?.source, resolved["label_studio.url"] == nil {
            problems.append(
                .init(
                    key: "label_studio.url", found: nil, source: nil,
                    expected: "a URL, because label_studio.api_key is set (\(source))"))
        }
        guard problems.isEmpty,
            let objectStoreURL = string("object_store.url"),
            case .success(let location) = ObjectStoreLocation.parse(objectStoreURL),
            let manifestURL = string("manifest.url"),
            case .success(let manifestLocation) = ManifestLocation.parse(manifestURL),
            let trackingText = string("mlflow.tracking_uri"), let trackingURI = URL(string: trackingText)
        else { return nil }

        let credentials = string("object_store.access_key_id").flatMap { id in
            string("object_store.secret_access_key").map { secret in
                AWSCredentials(
                    accessKeyId: id, secretAccessKey: secret, sessionToken: string("object_store.session_token"))
            }
        }
        let effective = ConfigSchema.keys.map { key in
            let value = resolved[key.path]
            let display: String? = value.map { key.isSecret ? Secret.redacted : Redaction.url($0.raw) }
            return PipelineConfiguration.EffectiveValue(
                key: key.path, display: display, source: value?.source ?? .defaultValue)
        }
        let ingest = PipelineConfiguration.Ingest(
            dataset: text("ingest.dataset"),
            rawPrefix: Self.prefix(text("ingest.raw_prefix")),
            curatedPrefix: Self.prefix(text("ingest.curated_prefix")),
            annotationsPrefix: Self.prefix(text("ingest.annotations_prefix")),
            pollInterval: .milliseconds(Int(number("ingest.poll_interval_seconds") * 1000)),
            maxPixels: integer("ingest.max_pixels"),
            batchSize: integer("ingest.batch_size"),
            concurrency: integer("ingest.concurrency"),
            lease: .seconds(integer("ingest.lease_seconds")),
            webhookToken: string("ingest.webhook_token").map(Secret.init),
            snsVerifySignatures: flag("ingest.sns_verify_signatures"),
            snsCertificateHosts: (string("ingest.sns_certificate_hosts") ?? "").split(separator: ",").map {
                $0.trimmingCharacters(in: .whitespaces).lowercased()
            }.filter { !$0.isEmpty },
            augmentation: augmentationPlan())
        let normalize = PipelineConfiguration.Normalize(
            variants: parsed("normalize.variants") { try? VariantSpec.parseList($0).get() },
            keyTemplate: parsed("normalize.key_template") { try? KeyTemplate.parse($0).get() },
            prefix: Self.prefix(text("normalize.prefix")),
            trainVariant: text("normalize.train_variant"),
            resizer: text("normalize.resizer"),
            concurrency: int("normalize.concurrency").flatMap { $0 > 0 ? $0 : nil }
                ?? 2 * ProcessInfo.processInfo.activeProcessorCount,
            vipsThreads: integer("normalize.vips_threads"),
            batchSize: integer("normalize.batch_size"),
            lease: .seconds(integer("normalize.lease_seconds")))
        let train = PipelineConfiguration.Train(
            backend: choice("train.backend"),
            model: text("train.model"),
            convolutions: text("train.convolutions").split(separator: ",").compactMap {
                Int($0.trimmingCharacters(in: .whitespaces))
            },
            epochs: integer("train.epochs"),
            batchSize: integer("train.batch_size"),
            learningRate: number("train.learning_rate"),
            momentum: number("train.momentum"),
            weightDecay: number("train.weight_decay"),
            patience: integer("train.patience"),
            validationFraction: number("train.validation_fraction"),
            seed: UInt64(integer("train.seed")),
            nodes: integer("train.nodes"),
            imagesPerNode: integer("train.images_per_node"),
            prefix: Self.prefix(text("train.prefix")),
            registeredModel: text("train.registered_model"),
            command: string("train.command"),
            image: text("train.image"),
            namespace: text("train.namespace"),
            nodeStagingPath: text("train.node_staging_path"),
            cpu: text("train.cpu"),
            memory: text("train.memory"),
            gpus: integer("train.gpus"))
        return PipelineConfiguration(
            objectStore: .init(
                location: location,
                endpoint: string("object_store.endpoint").flatMap { URL(string: $0) },
                region: text("object_store.region"),
                addressing: choice("object_store.addressing"),
                credentials: credentials,
                profile: string("object_store.profile")),
            manifest: .init(
                location: manifestLocation, poolSize: integer("manifest.pool_size"),
                maxAttempts: integer("manifest.max_attempts"),
                lockTimeout: .seconds(integer("manifest.lock_timeout_seconds")),
                filesPrefix: Self.prefix(text("manifest.files_prefix")),
                workRetention: Self.retention(hours: integer("manifest.work_retention_hours"))),
            staging: .init(
                root: text("staging.root"),
                reserveBytes: UInt64(integer("staging.reserve_mib")) << 20,
                keepOnFailure: flag("staging.keep_on_failure")),
            ingest: ingest,
            normalize: normalize,
            train: train,
            infer: .init(
                pollInterval: .milliseconds(Int(number("infer.poll_interval_seconds") * 1000)),
                maxBodyBytes: integer("infer.max_body_mib") << 20,
                prefix: Self.prefix(text("infer.prefix")),
                topK: integer("infer.top_k"), batchSize: integer("infer.batch_size"),
                maxPixels: integer("infer.max_pixels")),
            mlflow: .init(
                trackingURI: trackingURI,
                token: string("mlflow.token").map(Secret.init),
                username: string("mlflow.username"),
                password: string("mlflow.password").map(Secret.init),
                experiment: text("mlflow.experiment")),
            labelStudio: .init(
                url: string("label_studio.url").flatMap { URL(string: $0) },
                apiKey: string("label_studio.api_key").map(Secret.init)),
            http: .init(
                connectTimeout: .milliseconds(Int(number("http.connect_timeout_seconds") * 1000)),
                timeout: .milliseconds(Int(number("http.timeout_seconds") * 1000)),
                maxAttempts: integer("http.max_attempts"),
                caBundle: string("http.ca_bundle")),
            observability: .init(
                logLevel: choice("observability.log_level"),
                logFormat: choice("observability.log_format"),
                metricsHost: text("observability.metrics_host"),
                metricsPort: integer("observability.metrics_port"),
                shutdownGrace: .seconds(integer("observability.shutdown_grace_seconds"))),
            effectiveValues: effective)
    }

    static func retention(hours: Int) -> Duration? { hours == 0 ? nil : .seconds(hours * 3600) }
}

extension ConfigKey.Kind {
    var isPath: Bool {
        if case .path = self { return true }
        return false
    }
}

extension Node {
    var kindName: String {
        switch self {
        case .scalar: "scalar"
        case .mapping: "mapping"
        case .sequence: "list"
        case .alias: "alias"
        }
    }
}
