#!/usr/bin/env bash
# The OpenTofu variants as `make check-infra` checks them here, where neither OpenTofu nor its
# providers can be installed (no registry): every .tf parses with python-hcl2; a checker over the
# parsed HCL (scripts/peers/check_tofu.py) does what `tofu validate` would do for our own code
# (declared variables, locals, module outputs and inputs, required files and validations,
# tofu fmt's layout); the templates render to valid YAML; checkov scans the whole tree and fails
# on any failed check or any skip without a reason. One line per check; exit 1 on any failure.
# `tofu fmt -check` and `tofu validate` against the real providers run in CI (.github/workflows).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOFU="${1:-$ROOT/infra/tofu}"
TOOLS="$("$ROOT/scripts/services.sh" infra-tools)"
WORK="$(mktemp -d)"; trap 'rm -rf "$WORK"' EXIT
status=0

# 1-2. Parse and cross-reference.
"$TOOLS/python" "$ROOT/scripts/peers/check_tofu.py" "$TOFU" || status=1

# 3. Templates: with their placeholders filled, each is YAML.
"$TOOLS/python" - "$TOFU" <<'PY' || status=1
import re, sys, pathlib, yaml
templates = sorted(pathlib.Path(sys.argv[1]).rglob("*.yaml.tftpl"))
bad = []
for template in templates:
    text = re.sub(r"\$\{[^}]*\}", "placeholder", template.read_text())
    try:
        list(yaml.safe_load_all(text))
    except yaml.YAMLError as error:
        bad.append(f"{template}: {error}")
print(f"tofu: templates: {'ok' if not bad else 'FAIL'} ({len(templates)} YAML templates)")
for line in bad:
    print(f"  {line}")
sys.exit(1 if bad else 0)
PY

# 4. checkov, offline (no guideline download, no platform mapping).
if BC_SKIP_MAPPING=TRUE "$TOOLS/checkov" --framework terraform -d "$TOFU" --skip-download --compact \
    -o json > "$WORK/checkov.json" 2> "$WORK/checkov.err" || [ -s "$WORK/checkov.json" ]; then
    "$TOOLS/python" - "$WORK/checkov.json" <<'PY' || status=1
import json, sys
reports = json.load(open(sys.argv[1]))
reports = reports if isinstance(reports, list) else [reports]
passed, failed, skipped = [], [], []
for report in reports:
    results = report.get("results", {})
    passed += results.get("passed_checks", [])
    failed += results.get("failed_checks", [])
    skipped += results.get("skipped_checks", [])
def reason(check):
    text = (check.get("check_result", {}).get("suppress_comment") or "").strip()
    return "" if text == "No comment provided" else text  # checkov's stand-in for a bare skip
unexplained = [c for c in skipped if not reason(c)]
reasons = {}
for check in skipped:
    if reason(check):
        reasons.setdefault(check["check_id"], reason(check))
ok = not failed and not unexplained
print(f"tofu: checkov: {'ok' if ok else 'FAIL'} ({len(passed)} passed, {len(failed)} failed, "
      f"{len(skipped) - len(unexplained)} skipped with a reason in the code, {len(unexplained)} without)")
for check in failed:
    print(f"  FAILED {check['check_id']} {check['resource']} ({check['file_path']}:{check['file_line_range'][0]}): {check['check_name']}")
for check in unexplained:
    print(f"  SKIPPED WITHOUT REASON {check['check_id']} {check['resource']} ({check['file_path']})")
for check_id, reason in sorted(reasons.items()):
    print(f"  skip {check_id}: {reason}")
sys.exit(0 if ok else 1)
PY
else
    cat "$WORK/checkov.err" >&2
    echo "tofu: checkov: FAIL (did not run)"; status=1
fi

echo "tofu: $( [ "$status" = 0 ] && echo 'all checks passed' || echo 'FAILED')"
exit "$status"
