#!/usr/bin/env bash
# checkov over what the project deploys: every render of infra/k8s (base and each overlay, by
# `kubectl kustomize`, as scripts/validate-k8s.sh renders them) with the kubernetes framework,
# and every tracked Containerfile (containers/**, devcontainer/) with the dockerfile framework. Offline and quick (about
# 2 s a run): no download of Bridgecrew's policy metadata (--skip-download, BC_SKIP_MAPPING) and
# no PyPI update check (CKV_SKIP_PACKAGE_UPDATE_CHECK). Fails on any failed check; every check
# not held is skipped with its reason, either below (for every workload) or in the file itself
# (a checkov.io/skipN annotation, a #checkov:skip= comment).
#   scripts/checkov-manifests.sh            both
#   scripts/checkov-manifests.sh k8s        the Kubernetes renders only
#   scripts/checkov-manifests.sh containers the Containerfiles only
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
INFRA_TOOLS="$("$ROOT/scripts/services.sh" infra-tools)"
CONTAINER_TOOLS="$("$ROOT/scripts/services.sh" container-tools)"
WORK="$(mktemp -d)"; trap 'rm -rf "$WORK"' EXIT
export BC_SKIP_MAPPING=TRUE CKV_SKIP_PACKAGE_UPDATE_CHECK=true

# Skipped for every workload, one reason each.
K8S_SKIPS=(
    # CPU limits: the stages size their worker pools (and Swift's cooperative pool) to the
    # node's cores, not to a CFS quota, so a limit throttles them; requests reserve the cores,
    # and memory has its limit.
    CKV_K8S_11
    # Secrets as files: the stages read their credentials from the environment (the AWS SDK's
    # AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, PIPELINE_MANIFEST_URL), from the Secret
    # image-pipeline-credentials by envFrom, which scripts/validate-k8s.sh requires.
    CKV_K8S_35
    # Service account tokens: the ServiceAccount decides, not each pod (image-pipeline has
    # automountServiceAccountToken: false; the EKS overlay turns it on for IRSA); the training
    # launcher needs its token to create and watch its Indexed Job.
    CKV_K8S_38
    # Image digests: the overlays pin release tags; a digest exists only once `make images` has
    # pushed, so a deployment pins it with `kustomize edit set image NAME@sha256:…`.
    CKV_K8S_43
)
# The base alone is not deployed: the overlays give it its namespace and its image tags.
BASE_SKIPS=(
    CKV_K8S_14 # image tag latest: each overlay sets a release tag
    CKV_K8S_21 # default namespace: each overlay sets image-pipeline
)

join() { local IFS=,; echo "$*"; }

# checkov with its failed checks (compact) and its summary on stderr, the temporary paths put
# back as the repository's; returns checkov's status.
run_checkov() {
    local status=0
    "$INFRA_TOOLS/checkov" --skip-download --compact --quiet --output cli "$@" > "$WORK/out" 2>&1 || status=$?
    grep -v '^[[:space:]]*$' "$WORK/out" | sed -e "s#$WORK/dockerfiles/##g; s#$WORK/k8s/#rendered #g" \
        -e 's#/Dockerfile\b#/Containerfile#g; s/^/checkov: /' >&2
    return $status
}

status=0
what="${1:-all}"
if [ "$what" = all ] || [ "$what" = k8s ]; then
    for overlay in base overlays/eks overlays/openshift overlays/rke2; do
        name=$(basename "$overlay")
        mkdir -p "$WORK/k8s"
        "$CONTAINER_TOOLS/kubectl" kustomize "$ROOT/infra/k8s/$overlay" > "$WORK/k8s/$name.yaml" \
            || { echo "checkov: infra/k8s/$overlay does not render" >&2; status=1; continue; }
        skips=("${K8S_SKIPS[@]}")
        [ "$name" = base ] && skips+=("${BASE_SKIPS[@]}")
        echo "checkov: kubernetes, infra/k8s/$overlay (skipped for every workload: $(join "${skips[@]}"))" >&2
        run_checkov --framework kubernetes --skip-check "$(join "${skips[@]}")" -f "$WORK/k8s/$name.yaml" || status=1
    done
fi
if [ "$what" = all ] || [ "$what" = containers ]; then
    # checkov knows a Dockerfile by its name (Dockerfile, x.Dockerfile), not a Containerfile:
    # each is copied under its own path with that name, and the paths put back in the report.
    mapfile -t containerfiles < <(cd "$ROOT" && git ls-files --cached --others --exclude-standard '*Containerfile')
    for file in "${containerfiles[@]}"; do
        mkdir -p "$WORK/dockerfiles/$(dirname "$file")"
        cp "$ROOT/$file" "$WORK/dockerfiles/$(dirname "$file")/Dockerfile"
    done
    echo "checkov: dockerfile, ${#containerfiles[@]} Containerfiles" >&2
    run_checkov --framework dockerfile -d "$WORK/dockerfiles" || status=1
fi
[ $status = 0 ] && echo "checkov: no failed check (each skip carries its reason)" >&2
exit $status
