#!/usr/bin/env bash
# The Python environment of the example command trainers of examples/experiments/trainers
# (scikit-learn, XGBoost, PennyLane), made once from scripts/requirements-experiments.txt in the
# project's cache; prints its python. Use it in a models list as
#   command: "$PIPELINE_EXPERIMENTS_PYTHON examples/experiments/trainers/xgboost_trainer.py"
# after `export PIPELINE_EXPERIMENTS_PYTHON=$(scripts/experiments-env.sh)`.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REQUIREMENTS="$ROOT/scripts/requirements-experiments.txt"
CACHE="${PIPELINE_CACHE_DIR:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/image-pipeline}"
DIR="$CACHE/venv-experiments-$(sha256sum "$REQUIREMENTS" | cut -c1-12)"
if [ ! -f "$DIR/.complete" ]; then
    "$ROOT/scripts/services.sh" apt python3-venv >&2
    echo "experiments-env: creating $DIR" >&2
    rm -rf "$DIR"
    python3 -m venv "$DIR"
    "$DIR/bin/pip" install -q --disable-pip-version-check -r "$REQUIREMENTS" >&2
    touch "$DIR/.complete"
fi
echo "$DIR/bin/python"
