import Foundation
import Logging
import PipelineCommon
import ServiceLifecycle

/// The ingest loop as a swift-service-lifecycle `Service`: ingest what is queued, publish
/// when idle, and (in poll mode) list the raw prefix every interval. It stops between
/// batches on graceful shutdown; a batch cut short comes back to the queue after its lease.
public struct IngestLoop: Service {
    public enum Mode: Sendable {
        /// List every `interval`, ingest, publish.
        case poll(interval: Duration)
        /// Work on what bucket notifications queued, checking the queue every `interval`.
        case events(interval: Duration)
    }

    let ingestor: Ingestor
    let mode: Mode
    let readiness: ReadinessState
    let logger: Logger

    public init(ingestor: Ingestor, mode: Mode, readiness: ReadinessState, logger: Logger) {
        self.ingestor = ingestor
        self.mode = mode
        self.readiness = readiness
        self.logger = logger
    }

    public func run() async throws {
        let interval: Duration
        switch mode {
        case .poll(let every): interval = every
        case .events(let every): interval = every
        }
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            do {
                if case .poll = mode { _ = try await ingestor.poll() }
                let report = try await ingestor.work()
                if report.objects > 0 {
                    logger.info(
                        "ingested", metadata: ["objects": "\(report.objects)", "rejected": "\(report.rejected)"])
                }
                let reannotated = try await ingestor.reannotateIfChanged()
                if reannotated > 0 { logger.info("re-annotated", metadata: ["images": "\(reannotated)"]) }
                _ = try await ingestor.publishIfIdle()
                await ingestor.pruneFinishedWork()
                readiness.markReady("ingest")
            } catch is CancellationError {
                break
            } catch {
                readiness.markNotReady("ingest", reason: "last pass failed: \(error)")
                logger.error("ingest pass failed; trying again after the interval", metadata: ["error": "\(error)"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }
}
