import ArgumentParser
import Foundation
import Logging
import PipelineCommon
import StageCommand

/// `pipelinectl objects`: list, copy and presign, which is also the quickest way to check
/// credentials and endpoints.
struct ObjectsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "objects",
        abstract: "List, copy and presign objects in the configured store.",
        discussion: """
            A store reference is `store:KEY` (relative to object_store.url) or a full `s3://bucket/key`
            URL (same endpoint and credentials); anything else is a local path.
            """,
        subcommands: [List.self, Copy.self, Presign.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ls", abstract: "List objects under a prefix.")

        @OptionGroup var options: GlobalOptions
        @Argument(help: "Key prefix (relative to object_store.url), or an s3:// URL.") var prefix: String = ""
        @Flag(name: [.short, .long], help: "List every key below the prefix, not just one level.") var recursive = false
        @Flag(help: "Print JSON lines (key, size, etag, last_modified).") var json = false

        func run() async throws {
            let (configuration, logger) = try options.bootstrap()
            let (store, key) = try StoreReference.resolve(
                prefix, configuration: configuration, logger: logger, emptyKeyAllowed: true)
            var continuation: String?
            var count = 0
            var folders = 0
            repeat {
                let page = try await store.list(
                    prefix: key, delimiter: recursive ? nil : "/", startAfter: nil, continuation: continuation,
                    maxKeys: 1000)
                folders += page.commonPrefixes.count
                for folder in page.commonPrefixes where !json {
                    print("                           PRE \(folder)")
                }
                for object in page.objects {
                    count += 1
                    if json {
                        let line: [String: Any] = [
                            "key": object.key, "size": object.size, "etag": object.etag,
                            "last_modified": object.lastModified.map { ISO8601DateFormatter().string(from: $0) }
                                ?? NSNull(),
                        ]
                        let data = try JSONSerialization.data(
                            withJSONObject: line, options: [.sortedKeys, .withoutEscapingSlashes])
                        print(String(decoding: data, as: UTF8.self))
                    } else {
                        let date = object.lastModified.map(UTCTime.format) ?? "                   "
                        print("\(date) \(String(object.size).leftPadded(12)) \(object.key)")
                    }
                }
                continuation = page.nextContinuation
            } while continuation != nil
            if !json, count == 0, folders == 0 {
                FileHandle.standardError.write(Data("no objects under \(store.location)\(key)\n".utf8))
            }
        }

    }

    struct Copy: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "cp", abstract: "Copy a local file to the store, or an object to a local file.")

        @OptionGroup var options: GlobalOptions
        @Argument(help: "Source: a local file or a store reference.") var source: String
        @Argument(help: "Destination: a local file or a store reference.") var destination: String
        @Option(help: "Content type of an upload (default: from the file extension).") var contentType: String?

        func validate() throws {
            let sourceRemote = StoreReference.isRemote(source)
            let destinationRemote = StoreReference.isRemote(destination)
            guard sourceRemote != destinationRemote else {
                throw ValidationError(
                    "one of SOURCE and DESTINATION must be a store reference (store:KEY or s3://bucket/key) and the other a local path"
                )
            }
        }

        func run() async throws {
            let (configuration, logger) = try options.bootstrap()
            let progress = ProgressLine()
            if StoreReference.isRemote(destination) {
                let (store, key0) = try StoreReference.resolve(
                    destination, configuration: configuration, logger: logger, emptyKeyAllowed: true)
                let key = key0.isEmpty || key0.hasSuffix("/") ? key0 + (source as NSString).lastPathComponent : key0
                guard let attributes = try? FileManager.default.attributesOfItem(atPath: source),
                    let size = attributes[.size] as? UInt64
                else {
                    FileHandle.standardError.write(Data("pipelinectl: cannot read \(source)\n".utf8))
                    throw ExitCode(2)
                }
                let type = contentType ?? MediaType.forPath(source)
                let info: ObjectInfo
                if let s3 = store as? S3ObjectStore {
                    info = try await s3.put(key, fromFile: source, contentType: type, sha256: nil) {
                        progress.update($0, of: size)
                    }
                } else {
                    info = try await store.put(key, fromFile: source, contentType: type, sha256: nil)
                }
                progress.finish()
                print(
                    "uploaded \(source) to \(store.location)\(info.key) (\(info.size) bytes, sha256 \(info.sha256 ?? "?"))"
                )
            } else {
                let (store, key) = try StoreReference.resolve(
                    source, configuration: configuration, logger: logger, emptyKeyAllowed: false)
                var target = destination
                var isDirectory: ObjCBool = false
                if FileManager.default.fileExists(atPath: target, isDirectory: &isDirectory), isDirectory.boolValue {
                    target += "/" + (key as NSString).lastPathComponent
                }
                let partial = target + ".partial"
                let result: DownloadResult
                do {
                    if let s3 = store as? S3ObjectStore {
                        // The head gives the progress line its total and lets every part start at once.
                        let object = try await s3.head(key)
                        result = try await s3.get(object, to: partial) { progress.update($0, of: object.size) }
                    } else {
                        result = try await store.get(key, to: partial)
                    }
                } catch {
                    unlink(partial)
                    throw error
                }
                guard rename(partial, target) == 0 else {
                    throw ValidationError("cannot write \(target): \(String(cString: strerror(errno)))")
                }
                progress.finish()
                print(
                    "downloaded \(store.location)\(key) to \(target) (\(result.bytesWritten) bytes, sha256 \(result.sha256))"
                )
            }
        }
    }

    struct Presign: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a presigned URL that lets anyone GET (or PUT) one object until it expires.")

        @OptionGroup var options: GlobalOptions
        @Argument(help: "A store reference (store:KEY or s3://bucket/key).") var reference: String
        @Option(help: "GET or PUT.") var method: String = "GET"
        @Option(help: "Seconds the URL stays valid (at most 604800, 7 days).") var expires: Int = 3600

        func validate() throws {
            guard ["GET", "PUT"].contains(method.uppercased()) else {
                throw ValidationError("--method must be GET or PUT")
            }
            guard (1...604_800).contains(expires) else {
                throw ValidationError("--expires must be from 1 to 604800 seconds")
            }
        }

        func run() async throws {
            let (configuration, logger) = try options.bootstrap()
            let (store, key) = try StoreReference.resolve(
                reference, configuration: configuration, logger: logger, emptyKeyAllowed: false)
            guard let s3 = store as? S3ObjectStore else {
                FileHandle.standardError.write(
                    Data(
                        "pipelinectl: presigned URLs need an s3:// store; \(store.location) is a local directory\n".utf8
                    ))
                throw ExitCode(2)
            }
            print(try s3.presignedURL(for: key, method: method.uppercased(), expires: .seconds(expires)).absoluteString)
        }
    }
}

/// `store:KEY` or `s3://bucket/key`, resolved to a store and a key.
enum StoreReference {
    static func isRemote(_ text: String) -> Bool { text.hasPrefix("store:") || text.hasPrefix("s3://") }

    static func resolve(_ text: String, configuration: PipelineConfiguration, logger: Logger, emptyKeyAllowed: Bool)
        throws
        -> (any ObjectStore, String)
    {
        let http = HTTPClient(configuration: .init(configuration.http), logger: logger)
        let store: any ObjectStore
        let key: String
        do {
            if text.hasPrefix("s3://") {
                guard case .success(.s3(let bucket, let rest)) = ObjectStoreLocation.parse(text) else {
                    throw ValidationError("\(text) is not an s3://bucket/key URL")
                }
                // Keep the key exactly as written, trailing slash included.
                let afterBucket = text.dropFirst("s3://".count + bucket.count)
                key = afterBucket.hasPrefix("/") ? String(afterBucket.dropFirst()) : rest
                store = try ObjectStoreFactory.makeS3(
                    configuration, bucket: bucket, prefix: "", http: http, logger: logger)
            } else {
                key = String(text.dropFirst(text.hasPrefix("store:") ? "store:".count : 0))
                store = try ObjectStoreFactory.make(configuration, http: http, logger: logger)
            }
        } catch let error as ConfigurationError {
            FileHandle.standardError.write(Data("pipelinectl: \(error)\n".utf8))
            throw ExitCode(2)
        }
        if key.isEmpty, !emptyKeyAllowed { throw ValidationError("\(text) names no key") }
        return (store, key)
    }
}

extension ProgressLine {
    func update(_ done: UInt64, of total: UInt64) {
        let percent = total > 0 ? Int(Double(done) / Double(total) * 100) : 100
        show(force: done == total) { seconds in
            String(
                format: "%.1f / %.1f MiB  %3d%%  %.1f MiB/s", Double(done) / 1_048_576, Double(total) / 1_048_576,
                percent, Double(done) / 1_048_576 / seconds)
        }
    }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
