#!/usr/bin/env bash
# `make e2e`: the whole loop in containers, with podman-compose, from the devcontainer's own
# compose file (devcontainer/compose.yaml) and an override (compose.e2e.yaml) that swaps in
# images built here and SeaweedFS for RustFS: what a user runs is what this runs.
#
# Services: S3 (SeaweedFS here, RustFS in the devcontainer), PostgreSQL (manifests, and
# MLflow's backend store), MLflow (artifact root in the S3 server), Prometheus, ingest serve
# and infer serve. Stages, each its own container with a volume at /mnt/nvme for staging:
#   pipelinectl migrate; pipelinectl demo shapes (labelled images into raw/shapes/)
#   pipeline-ingest poll --once -> pipeline-normalize -> pipeline-train (builtin)
#   -> pipelinectl model approve -> pipeline-infer batch; pipeline-infer serve answers.
# Checks: every stage container exits 0; the manifests and variants are in the bucket; MLflow
# has the run with its artifacts in S3 and the version carries the alias "approved"; the Label
# Studio and COCO outputs load in Label Studio's converter and pycocotools; /predict answers;
# Prometheus scrapes the infer container and answers for pipeline_infer_predictions_total and
# pipeline_staging_bytes_total; bytes went through every stage's staging volume; no secret in
# any container's log. Bad input at this layer: a missing secret exits 2 naming the variable,
# a read-only staging volume fails at start saying so.
# Everything is removed at the end, on failure too: no container, pod, network or volume is left.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CONTAINERS_CONF="${CONTAINERS_CONF:-$ROOT/containers/containers.conf}"
PROJECT="pipeline-e2e-$$"
WORK="$(mktemp -d)"
STARTED=$SECONDS
IMAGES=localhost/image-pipeline
SERVICE_IMAGES=localhost/pipeline-e2e
MODEL=shapes

log() { printf 'e2e: %s\n' "$*" >&2; }
die() { printf 'e2e: FAILED: %s\n' "$*" >&2; exit 1; }
left_behind() {
    { podman ps -aq --filter "label=io.podman.compose.project=$PROJECT"
      podman volume ls -q --filter "label=io.podman.compose.project=$PROJECT"
      podman network ls -q --filter "label=io.podman.compose.project=$PROJECT"
      podman pod ls -q --filter "name=$PROJECT"; } 2>/dev/null | grep -c . || true
}
cleanup() {
    local status=$?
    if [ $status -ne 0 ]; then
        for name in $(podman ps -a --filter "label=io.podman.compose.project=$PROJECT" --format '{{.Names}}' 2>/dev/null); do
            printf -- '--- last lines of %s\n' "$name" >&2
            podman logs --tail 30 "$name" 2>&1 | redact >&2 || true
        done
    fi
    compose down -v -t 3 >/dev/null 2>&1 || true
    local filter="label=io.podman.compose.project=$PROJECT"
    podman ps -aq --filter "$filter" | xargs -r podman rm -f -t 2 >/dev/null 2>&1 || true
    podman volume ls -q --filter "$filter" | xargs -r podman volume rm -f >/dev/null 2>&1 || true
    podman network ls -q --filter "$filter" | xargs -r podman network rm -f >/dev/null 2>&1 || true
    rm -rf "$WORK"
    local left; left=$(left_behind)
    [ "$left" = 0 ] || { log "cleanup left $left containers, volumes, networks or pods behind"; status=1; }
    exit $status
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
secret() { head -c 24 /dev/urandom | base64 | tr -d '/+='; }
wait_for() { # service description seconds command... : waits, and stops early if the service's container exits
    local service=$1 what=$2 limit=$3 deadline=$((SECONDS + $3)); shift 3
    until "$@" >/dev/null 2>&1; do
        [ $SECONDS -lt $deadline ] || die "$what did not come up within $limit s"
        [ "$(podman inspect -f '{{.State.Running}}' "${PROJECT}_${service}_1" 2>/dev/null)" = true ] \
            || die "$what: its container ${PROJECT}_${service}_1 is not running"
        sleep 1
    done
}

podman info >/dev/null 2>&1 || die "podman cannot run containers here: $(podman info 2>&1 | tail -n 1)"
for image in pipeline-ingest pipeline-normalize pipeline-train pipeline-infer pipelinectl; do
    podman image exists "$IMAGES/$image:latest" || die "$IMAGES/$image is not built: run make images"
done
PYTHON="$("$ROOT/scripts/services.sh" python)"
TOOLS="$("$ROOT/scripts/services.sh" container-tools)"
compose() {
    "$TOOLS/podman-compose" --project-name "$PROJECT" --profile loop \
        -f "$ROOT/devcontainer/compose.yaml" -f "$ROOT/devcontainer/compose.e2e.yaml" "$@"
}

# Settings of this run: fresh secrets and free loopback ports, as compose.yaml reads them.
PIPELINE_S3_ACCESS_KEY="E2E$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n' | tr a-f A-F)"
PIPELINE_S3_SECRET_KEY=$(secret); PIPELINE_POSTGRES_PASSWORD=$(secret); PIPELINE_WEBHOOK_TOKEN=$(secret)
export PIPELINE_S3_ACCESS_KEY PIPELINE_S3_SECRET_KEY PIPELINE_POSTGRES_PASSWORD PIPELINE_WEBHOOK_TOKEN
export PIPELINE_BUCKET=pipeline-e2e PIPELINE_REGISTERED_MODEL=$MODEL
for name in S3 S3_CONSOLE POSTGRES MLFLOW PROMETHEUS INGEST INFER; do export "PIPELINE_${name}_PORT=$(free_port)"; done
redact() {
    sed -e "s/$PIPELINE_S3_SECRET_KEY/[S3 SECRET]/g" -e "s/$PIPELINE_POSTGRES_PASSWORD/[POSTGRES PASSWORD]/g" \
        -e "s/$PIPELINE_WEBHOOK_TOKEN/[WEBHOOK TOKEN]/g"
}
chmod 755 "$WORK"
export E2E_IDENTITIES="$WORK/identities.json"
cat > "$E2E_IDENTITIES" <<JSON
{"identities": [{"name": "pipeline", "credentials": [{"accessKey": "$PIPELINE_S3_ACCESS_KEY", "secretKey": "$PIPELINE_S3_SECRET_KEY"}],
  "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}
JSON
chmod 644 "$E2E_IDENTITIES"

log "validating the compose files against the compose spec"
"$TOOLS/check-jsonschema" --builtin-schema vendor.compose-spec \
    "$ROOT/devcontainer/compose.yaml" "$ROOT/devcontainer/compose.e2e.yaml" >&2
compose config >/dev/null || die "podman-compose cannot read devcontainer/compose.yaml with compose.e2e.yaml"

# The images compose.e2e.yaml swaps in, built from the project's base and cached in layers.
log "service images (SeaweedFS, PostgreSQL, MLflow, Prometheus)"
mkdir -p "$WORK/seaweedfs"
cp "$ROOT/containers/services/seaweedfs/Containerfile" "$WORK/seaweedfs/"
cp "$("$ROOT/scripts/services.sh" weed)" "$WORK/seaweedfs/weed"
podman build --quiet --layers -t "$SERVICE_IMAGES/seaweedfs:latest" "$WORK/seaweedfs" >/dev/null
for service in postgres prometheus; do
    podman build --quiet --layers -t "$SERVICE_IMAGES/$service:latest" "$ROOT/containers/services/$service" >/dev/null
done
podman build --quiet --layers --secret id=ca,src=/etc/ssl/certs/ca-certificates.crt \
    -t "$SERVICE_IMAGES/mlflow:latest" "$ROOT/containers/services/mlflow" >/dev/null
build_seconds=$((SECONDS - STARTED))

log "starting S3 and PostgreSQL"
compose up -d s3 postgres > "$WORK/compose-up.log" 2>&1 || { redact < "$WORK/compose-up.log" >&2; die "compose up failed"; }
wait_for postgres "PostgreSQL" 90 compose exec -T postgres pg_isready -h 127.0.0.1 -U pipeline -d mlflow
wait_for s3 "the S3 server" 60 curl -fsS "http://127.0.0.1:$PIPELINE_S3_PORT/healthz"
log "starting the bucket setup, MLflow, Prometheus, ingest serve"
compose up -d setup mlflow prometheus ingest >> "$WORK/compose-up.log" 2>&1 || { redact < "$WORK/compose-up.log" >&2; die "compose up failed"; }
wait_for mlflow "MLflow" 240 curl -fsS "http://127.0.0.1:$PIPELINE_MLFLOW_PORT/health"
wait_for ingest "pipeline-ingest serve" 60 curl -fsS "http://127.0.0.1:$PIPELINE_INGEST_PORT/readyz"
setup=$(podman wait "${PROJECT}_setup_1" 2>/dev/null || podman inspect -f '{{.State.ExitCode}}' "${PROJECT}_setup_1")
[ "$setup" = 0 ] || die "the bucket setup exited with $setup"
compose up -d infer >> "$WORK/compose-up.log" 2>&1 || { redact < "$WORK/compose-up.log" >&2; die "compose up infer failed"; }

# One stage container at a time, as `podman-compose run --rm SERVICE ARGS` runs it.
stage() { # service arguments...
    local service=$1; shift
    log "running $service $*"
    local started=$SECONDS
    if ! compose run --rm -T "$service" "$@" > "$WORK/$service.out" 2> "$WORK/$service.err"; then
        redact < "$WORK/$service.err" | tail -n 30 >&2
        die "$service $* failed"
    fi
    redact < "$WORK/$service.out" | grep -v '^podman\|^\$' | tail -n 6 >&2
    log "$service $* passed in $((SECONDS - started)) s"
}
stage ctl migrate
stage ctl demo shapes --count 300 --format label-studio
stage ingest-poll
stage normalize
stage train
version=$(sed -n "s/^registered $MODEL version \([0-9][0-9]*\).*$/\1/p" "$WORK/train.out" | tail -n 1)
[ -n "$version" ] || die "pipeline-train registered no version of $MODEL"
stage ctl model approve "$MODEL" "$version"
stage infer-batch
wait_for infer "pipeline-infer serve (with the approved model)" 120 curl -fsS "http://127.0.0.1:$PIPELINE_INFER_PORT/readyz"

log "checking what the loop left"
"$PYTHON" "$ROOT/scripts/peers/check_e2e.py" \
    --s3 "http://127.0.0.1:$PIPELINE_S3_PORT" --key "$PIPELINE_S3_ACCESS_KEY" --secret "$PIPELINE_S3_SECRET_KEY" \
    --bucket "$PIPELINE_BUCKET" --mlflow "http://127.0.0.1:$PIPELINE_MLFLOW_PORT" --model "$MODEL" \
    --infer "http://127.0.0.1:$PIPELINE_INFER_PORT" --prometheus "http://127.0.0.1:$PIPELINE_PROMETHEUS_PORT" \
    --batch-output "$(cat "$WORK/infer-batch.out")" --work "$WORK" \
    --review-checker "$ROOT/scripts/peers/check_review_outputs.py" || die "the loop's outputs are not all there"
# Bytes went through each stage's staging volume: its staging directory is there.
for volume in ingest-staging normalize-staging train-staging infer-batch-staging infer-staging; do
    mountpoint=$(podman volume inspect -f '{{.Mountpoint}}' "${PROJECT}_$volume") || die "no volume $volume"
    [ -n "$(ls -A "$mountpoint")" ] || die "nothing was staged in the $volume volume"
done
for name in $(podman ps -a --filter "label=io.podman.compose.project=$PROJECT" --format '{{.Names}}'); do
    if podman logs "$name" 2>&1 | grep -qF -e "$PIPELINE_S3_SECRET_KEY" -e "$PIPELINE_POSTGRES_PASSWORD"; then
        die "a secret appears in the log of $name"
    fi
done
if grep -qF -e "$PIPELINE_S3_SECRET_KEY" -e "$PIPELINE_POSTGRES_PASSWORD" "$WORK"/*.out "$WORK"/*.err; then
    die "a secret appears in a stage's output"
fi

log "bad input at the container layer"
set +e
compose run --rm -T -e AWS_SECRET_ACCESS_KEY= ingest-poll > "$WORK/nosecret.out" 2>&1
nosecret=$?
mkdir -p "$WORK/readonly"
podman run --rm -v "$WORK/readonly:/mnt/nvme:ro" -e PIPELINE_MANIFEST_URL=sqlite:///tmp/m.db \
    "$IMAGES/pipeline-normalize:latest" > "$WORK/readonly.out" 2>&1
readonly=$?
set -e
{ [ $nosecret = 2 ] && grep -q "AWS_SECRET_ACCESS_KEY" "$WORK/nosecret.out"; } \
    || { redact < "$WORK/nosecret.out" >&2; die "a missing secret should exit 2 naming AWS_SECRET_ACCESS_KEY (exit $nosecret)"; }
{ [ $readonly = 2 ] && grep -q "/mnt/nvme is on a read-only file system" "$WORK/readonly.out"; } \
    || { cat "$WORK/readonly.out" >&2; die "a read-only staging volume should fail at start naming it (exit $readonly)"; }

log "passed in $((SECONDS - STARTED)) s (of which $build_seconds s building the service images)"
