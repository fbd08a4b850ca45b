#!/usr/bin/env bash
# The functional (integration) tests against the devcontainer's services: RustFS for S3,
# PostgreSQL, MLflow (devcontainer/compose.yaml). Run it inside the dev container, where the
# services answer by name (s3, postgres, mlflow), or on the host while `podman-compose -f
# devcontainer/compose.yaml up -d` runs, where they answer on their 127.0.0.1 ports.
#   scripts/devcontainer-e2e.sh [swift test options, e.g. --filter ObjectStoreContractTests]
# Suites that need a service compose does not run (Label Studio, moto's SNS delivery, the
# read-only key) are skipped with their reason; everything else must pass.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
if getent hosts s3 >/dev/null 2>&1; then
    s3="http://s3:9000" postgres="postgres:5432" mlflow="http://mlflow:5000"
else
    s3="http://127.0.0.1:${PIPELINE_S3_PORT:-9000}" postgres="127.0.0.1:${PIPELINE_POSTGRES_PORT:-5432}"
    mlflow="http://127.0.0.1:${PIPELINE_MLFLOW_PORT:-5000}"
fi
for url in "$s3/" "$mlflow/health"; do
    curl -s -o /dev/null --max-time 5 "$url" \
        || { echo "devcontainer-e2e: $url does not answer: start the services (devcontainer, or podman-compose -f devcontainer/compose.yaml up -d)" >&2; exit 2; }
done
env_file="$ROOT/.services/devcontainer.env"
mkdir -p "$(dirname "$env_file")"
( umask 077; cat > "$env_file" <<ENV
PIPELINE_TEST_S3_ENDPOINT=$s3
PIPELINE_TEST_S3_BUCKET=${PIPELINE_BUCKET:-pipeline}
PIPELINE_TEST_S3_REGION=us-east-1
PIPELINE_TEST_S3_ACCESS_KEY_ID=${PIPELINE_S3_ACCESS_KEY:-pipeline-dev}
PIPELINE_TEST_S3_SECRET_ACCESS_KEY=${PIPELINE_S3_SECRET_KEY:-pipeline-dev-secret}
PIPELINE_TEST_POSTGRES_URL=postgres://pipeline:${PIPELINE_POSTGRES_PASSWORD:-pipeline-dev}@$postgres/pipeline
PIPELINE_TEST_MLFLOW_URI=$mlflow
PIPELINE_TEST_PYTHON=$(scripts/services.sh python)
PIPELINE_TEST_SAMPLE_IMAGES=$(scripts/services.sh samples)
ENV
)
swift build --build-tests
PIPELINE_SERVICES_ENV="$env_file" swift test --skip-build --filter IntegrationTests "$@"
