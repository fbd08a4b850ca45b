import Foundation
import Logging

/// Installs the process-wide swift-log backend. Call once, at the start of `main`.
public enum LoggingSetup {
    /// Human-readable text on a terminal and JSON lines otherwise, unless `format` says which.
    public static func bootstrap(level: Logger.Level, format: PipelineConfiguration.Observability.LogFormat) {
        let json: Bool
        switch format {
        case .json: json = true
        case .text: json = false
        case .auto: json = isatty(STDERR_FILENO) == 0
        }
        LoggingSystem.bootstrap { label in
            var handler: any LogHandler =
                json ? JSONLogHandler(label: label) : StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}
