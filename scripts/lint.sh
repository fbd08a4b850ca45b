#!/usr/bin/env bash
# The repository's hygiene, one check per part, over the whole tree (make lint) or over the
# files given (the pre-commit hooks in lefthook.yml pass the staged ones):
#   swift      swift-format lint --strict (.swift-format) over Sources Tests Benchmarks Package.swift
#   text       LF line endings and a final newline on every text file (scripts/check-text-files.sh)
#   shell      shellcheck -S warning on every shell script (*.sh and .ci/run)
#   notebooks  no output in any notebook (*.ipynb): nbstripout --verify; with --fix, strips them
#   workflows  .github/workflows against the schema and shellcheck (scripts/validate-workflows.sh)
# Usage: scripts/lint.sh [PART [--fix] [FILE...]]   (no PART: every part over the whole tree)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
SWIFT="${SWIFT:-swift}"

infra_tools() { "$ROOT/scripts/services.sh" infra-tools; }

lint_swift() {
    if [ $# -gt 0 ]; then
        "$SWIFT" format lint --strict "$@"
    else
        "$SWIFT" format lint --strict --recursive Sources Tests Benchmarks Package.swift
    fi
    echo "swift-format: no finding" >&2
}

lint_text() { scripts/check-text-files.sh "$@"; }

lint_shell() {
    local files=("$@")
    [ $# -gt 0 ] || mapfile -t files < <(git ls-files --cached --others --exclude-standard '*.sh' .ci/run)
    [ ${#files[@]} -gt 0 ] || return 0
    shellcheck -S warning "${files[@]}"
    echo "shellcheck: ${#files[@]} shell scripts pass" >&2
}

lint_notebooks() {
    local fix=0
    if [ "${1:-}" = --fix ]; then fix=1; shift; fi
    local files=("$@")
    [ $# -gt 0 ] || mapfile -t files < <(git ls-files --cached --others --exclude-standard '*.ipynb')
    if [ ${#files[@]} = 0 ]; then echo "nbstripout: no notebook" >&2; return 0; fi
    if [ $fix = 1 ]; then
        "$(infra_tools)/nbstripout" "${files[@]}"
        # nbstripout writes the JSON without the final newline Jupyter writes and lint wants.
        local file
        for file in "${files[@]}"; do [ -z "$(tail -c1 "$file")" ] || echo >> "$file"; done
    else
        "$(infra_tools)/nbstripout" --verify "${files[@]}" \
            || { echo "nbstripout: notebooks with output (strip them: scripts/lint.sh notebooks --fix FILE...)" >&2; return 1; }
    fi
    echo "nbstripout: ${#files[@]} notebooks without output" >&2
}

lint_workflows() { scripts/validate-workflows.sh "$@"; }

part="${1:-all}"; [ $# = 0 ] || shift
case "$part" in
    swift | text | shell | notebooks | workflows) "lint_$part" "$@" ;;
    all)
        status=0
        for part in swift text shell notebooks workflows; do
            "lint_$part" || { echo "lint: $part failed" >&2; status=1; }
        done
        [ $status = 0 ] && echo "lint: every check passes" >&2
        exit $status
        ;;
    *) echo "usage: scripts/lint.sh [swift|text|shell|notebooks|workflows] [--fix] [FILE...]" >&2; exit 2 ;;
esac
