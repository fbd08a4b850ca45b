#!/usr/bin/env bash
# scripts/services.sh keeps each service's state across restarts unless told to reset: data
# written to PostgreSQL, the S3 server (SeaweedFS) and MLflow is there after `down` + `up` and
# after `stop s3` + `up s3`, with the same credentials; `up --reset` starts from nothing.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SERVICES="$ROOT/scripts/services.sh"
export PIPELINE_SERVICES_DIR
PIPELINE_SERVICES_DIR=$(mktemp -d /tmp/services-restart.XXXXXX)
chmod 755 "$PIPELINE_SERVICES_DIR" # the postgres user reads its cluster there
trap '"$SERVICES" down >/dev/null 2>&1 || true; rm -rf "$PIPELINE_SERVICES_DIR"' EXIT
PY=$("$SERVICES" python)
PG_BIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)"

fail() { printf 'test-services-restart: FAILED: %s\n' "$*" >&2; exit 1; }
settings() { set -a; . "$PIPELINE_SERVICES_DIR/env"; set +a; }
psql_run() { "$PG_BIN/psql" "$PIPELINE_TEST_POSTGRES_URL" -tAq -c "$1"; }
s3() { # put KEY BODY | get KEY
    "$PY" - "$@" <<'PY'
import os, sys, boto3
s3 = boto3.client("s3", endpoint_url=os.environ["PIPELINE_TEST_S3_ENDPOINT"], region_name="us-east-1",
                  aws_access_key_id=os.environ["PIPELINE_TEST_S3_ACCESS_KEY_ID"],
                  aws_secret_access_key=os.environ["PIPELINE_TEST_S3_SECRET_ACCESS_KEY"])
bucket = os.environ["PIPELINE_TEST_S3_BUCKET"]
if sys.argv[1] == "put":
    s3.put_object(Bucket=bucket, Key=sys.argv[2], Body=sys.argv[3].encode())
else:
    try:
        print(s3.get_object(Bucket=bucket, Key=sys.argv[2])["Body"].read().decode())
    except s3.exceptions.NoSuchKey:
        print("missing")
PY
}
experiment() { # the id of the experiment named $1, or "missing"
    curl -fsS "$PIPELINE_TEST_MLFLOW_URI/api/2.0/mlflow/experiments/get-by-name?experiment_name=$1" 2>/dev/null \
        | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["experiment"]["experiment_id"])' 2>/dev/null || echo missing
}
check_kept() { # what
    settings
    [ "$(psql_run "SELECT note FROM kept")" = "written before" ] || fail "$1: the PostgreSQL row is gone"
    [ "$(s3 get kept/object.txt)" = "written before" ] || fail "$1: the S3 object is gone"
    [ "$(experiment kept-experiment)" = "$experiment_id" ] || fail "$1: the MLflow experiment is gone"
    [ "$PIPELINE_TEST_S3_ACCESS_KEY_ID" = "$s3_key" ] || fail "$1: the S3 key changed"
    echo "test-services-restart: $1: PostgreSQL row, S3 object and MLflow experiment kept"
}

"$SERVICES" up postgres s3 mlflow >/dev/null 2>&1 || fail "services did not start"
settings
psql_run "CREATE TABLE kept (note text); INSERT INTO kept VALUES ('written before')"
s3 put kept/object.txt "written before"
experiment_id=$(curl -fsS -X POST -H 'Content-Type: application/json' -d '{"name": "kept-experiment"}' \
    "$PIPELINE_TEST_MLFLOW_URI/api/2.0/mlflow/experiments/create" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["experiment_id"])')
s3_key=$PIPELINE_TEST_S3_ACCESS_KEY_ID
s3_endpoint=$PIPELINE_TEST_S3_ENDPOINT

"$SERVICES" down >/dev/null 2>&1
[ ! -f "$PIPELINE_SERVICES_DIR/env" ] || fail "down left the settings file"
"$SERVICES" up postgres s3 mlflow >/dev/null 2>&1 || fail "services did not start again"
check_kept "down, up"

"$SERVICES" stop s3 >/dev/null 2>&1
! curl -fsS -o /dev/null "$s3_endpoint/healthz" 2>/dev/null || fail "stop s3 left the server answering"
"$SERVICES" up s3 >/dev/null 2>&1 || fail "s3 did not start again"
settings
[ "$PIPELINE_TEST_S3_ENDPOINT" = "$s3_endpoint" ] || fail "the S3 endpoint moved although its port was free"
check_kept "stop s3, up s3"

"$SERVICES" up --reset postgres s3 mlflow >/dev/null 2>&1 || fail "services did not start after --reset"
settings
[ "$(psql_run "SELECT count(*) FROM pg_tables WHERE tablename = 'kept'")" = 0 ] || fail "--reset kept the table"
[ "$(s3 get kept/object.txt)" = missing ] || fail "--reset kept the S3 object"
[ "$(experiment kept-experiment)" = missing ] || fail "--reset kept the MLflow experiment"
[ "$PIPELINE_TEST_S3_ACCESS_KEY_ID" != "$s3_key" ] || fail "--reset kept the S3 key"
echo "test-services-restart: up --reset: PostgreSQL, S3 and MLflow start empty with new credentials"
