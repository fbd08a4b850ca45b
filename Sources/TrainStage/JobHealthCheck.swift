/// Asked while the kubernetes backend waits for its pods: returns while they may still answer,
/// throws (naming the pod, its exit and its last log lines) once one has failed for good.
public typealias JobHealthCheck = @Sendable () async throws -> Void
