#!/usr/bin/env bash
# `make bench`: this project's components side by side with the peer a user would otherwise
# use, on this machine, in the same run, reported as ratios.
#   object store: PUT and GET of 1 KiB x 2000 and 64 MiB x 4, this client vs boto3, same S3 server
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PIPELINE_SERVICES_DIR="${PIPELINE_SERVICES_DIR:-$ROOT/.services-bench}"
SERVICES=scripts/services.sh

$SERVICES up s3
trap '$SERVICES down' EXIT
set -a; . "$PIPELINE_SERVICES_DIR/env"; set +a
export AWS_ACCESS_KEY_ID=$PIPELINE_TEST_S3_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY=$PIPELINE_TEST_S3_SECRET_ACCESS_KEY \
       AWS_REGION=$PIPELINE_TEST_S3_REGION AWS_ENDPOINT_URL_S3=$PIPELINE_TEST_S3_ENDPOINT

echo "bench: building release binaries" >&2
swift build -c release --product object-store-bench >&2
BIN="$(swift build -c release --show-bin-path)"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"; $SERVICES down' EXIT

echo "bench: object store, this client" >&2
swift_result=$("$BIN/object-store-bench" "$PIPELINE_TEST_S3_ENDPOINT" "$PIPELINE_TEST_S3_BUCKET" bench-swift/ "$WORK/swift")
echo "bench: object store, boto3" >&2
boto_result=$("$PIPELINE_TEST_PYTHON" Benchmarks/peers/boto3_object_store.py "$PIPELINE_TEST_S3_ENDPOINT" \
    "$PIPELINE_TEST_S3_BUCKET" bench-boto3/ "$WORK/boto3")

python3 - "$swift_result" "$boto_result" <<'PY'
import json, os, sys
swift, boto = json.loads(sys.argv[1]), json.loads(sys.argv[2])
small = int(os.environ.get("BENCH_SMALL_COUNT", "2000")); large = int(os.environ.get("BENCH_LARGE_COUNT", "4"))
mib = int(os.environ.get("BENCH_LARGE_MIB", "64"))
rows = [("PUT 1 KiB", "small_put", small, small / 1024), ("GET 1 KiB", "small_get", small, small / 1024),
        (f"PUT {mib} MiB", "large_put", large, large * mib), (f"GET {mib} MiB", "large_get", large, large * mib)]
print("\nObject store against moto's S3 server (signatures checked), same run")
print(f"{'operation':<12} {'count':>6} | {'swift ops/s':>11} {'MiB/s':>8} | {'boto3 ops/s':>11} {'MiB/s':>8} | {'ratio':>6}")
for name, key, count, size in rows:
    s, b = swift[key], boto[key]
    print(f"{name:<12} {count:>6} | {count / s:>11.1f} {size / s:>8.1f} | {count / b:>11.1f} {size / b:>8.1f} | {b / s:>5.2f}x")
print("ratio = boto3 time / this client's time (above 1: this client is faster)")
PY
