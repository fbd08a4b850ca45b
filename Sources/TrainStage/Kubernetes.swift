import Foundation
import PipelineCommon
import Yams

/// The kubernetes backend's Job: an Indexed Job with one completion per node; each pod is
/// `pipeline-train shard`, which reads its rank from `JOB_COMPLETION_INDEX`, its shard list
/// from `<train.prefix><run>/shard-<rank>.jsonl` in the object store, stages through the NVMe
/// volume at the staging root, and trains epoch by epoch from the parameters the coordinator
/// (`pipeline-train --backend kubernetes --apply`) publishes there (see ``ObjectStoreExchange``).
public enum KubernetesJob {
    public static func name(runId: String) -> String { "train-" + runId.prefix(12).lowercased() }

    public static func manifest(configuration: PipelineConfiguration, runId: String, configMap: String) -> [String: Any]
    {
        let train = configuration.train
        let labels: [String: String] = [
            "app.kubernetes.io/name": "image-pipeline", "app.kubernetes.io/component": "train",
            "image-pipeline/run-id": String(runId.prefix(63)),
        ]
        var limits: [String: String] = ["cpu": train.cpu, "memory": train.memory]
        if train.gpus > 0 { limits["nvidia.com/gpu"] = "\(train.gpus)" }
        let container: [String: Any] = [
            "name": "trainer",
            "image": train.image,
            "command": ["pipeline-train", "shard", "--config", "/etc/image-pipeline/pipeline.yaml", "--run", runId],
            "env": [
                ["name": "PIPELINE_STAGING_ROOT", "value": "/mnt/nvme"],
                ["name": "PIPELINE_LOG_FORMAT", "value": "json"],
                [
                    "name": "MLFLOW_TRACKING_URI", "value": configuration.mlflow.trackingURI.absoluteString,
                ],
            ],
            "envFrom": [["secretRef": ["name": "image-pipeline-credentials", "optional": true]]],
            "resources": ["requests": limits, "limits": limits],
            "securityContext": [
                "allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true,
                "capabilities": ["drop": ["ALL"]],
            ] as [String: Any],
            "volumeMounts": [
                ["name": "nvme", "mountPath": "/mnt/nvme"],
                ["name": "config", "mountPath": "/etc/image-pipeline", "readOnly": true],
                ["name": "tmp", "mountPath": "/tmp"],
            ],
        ]
        return [
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": ["name": name(runId: runId), "namespace": train.namespace, "labels": labels],
            "spec": [
                "completionMode": "Indexed",
                "completions": train.nodes,
                "parallelism": train.nodes,
                "backoffLimitPerIndex": 1,
                "maxFailedIndexes": 0,
                "ttlSecondsAfterFinished": 86_400,
                "template": [
                    "metadata": ["labels": labels],
                    "spec": [
                        "restartPolicy": "Never",
                        // As the stages' own workloads (infra/k8s/base): non-root, read-only root,
                        // on the NVMe nodes, staging in the node's folder for training.
                        "securityContext": [
                            "runAsNonRoot": true, "runAsUser": 10001, "runAsGroup": 10001,
                            "seccompProfile": ["type": "RuntimeDefault"],
                        ] as [String: Any],
                        "nodeSelector": ["image-pipeline/nvme": "true"],
                        "tolerations": [
                            ["key": "image-pipeline/nvme", "operator": "Exists", "effect": "NoSchedule"]
                        ],
                        "containers": [container],
                        "volumes": [
                            ["name": "nvme", "hostPath": ["path": train.nodeStagingPath, "type": "Directory"]],
                            ["name": "config", "configMap": ["name": configMap]],
                            ["name": "tmp", "emptyDir": ["sizeLimit": "256Mi"]],
                        ],
                    ] as [String: Any],
                ] as [String: Any],
            ] as [String: Any],
        ]
    }

    public static func yaml(configuration: PipelineConfiguration, runId: String, configMap: String) throws -> String {
        try Yams.dump(
            object: manifest(configuration: configuration, runId: runId, configMap: configMap), sortKeys: true)
    }
}
