#!/usr/bin/env bash
# Every text file ends its lines with LF and ends with a newline, as .editorconfig and
# .gitattributes ask. Binary files (those git marks binary or -text, or that carry a NUL byte)
# and empty files are left alone.
#   scripts/check-text-files.sh            every file git tracks, or would (new and not ignored)
#   scripts/check-text-files.sh FILE...    those files (the pre-commit hook passes the staged ones)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
if [ $# -gt 0 ]; then
    files=("$@")
else
    mapfile -t files < <(git ls-files --cached --others --exclude-standard)
fi

problems=0 checked=0
declare -A binary=()
# git's own view first: what .gitattributes marks binary or not text.
while IFS= read -r line; do
    file="${line%%: *}"; binary["$file"]=1
done < <(printf '%s\n' "${files[@]}" | git check-attr --stdin binary text 2>/dev/null | grep -E ': (binary: set|text: unset)$' || true)

for file in "${files[@]}"; do
    if [ ! -f "$file" ] || [ -L "$file" ] || [ ! -s "$file" ] || [ -n "${binary[$file]:-}" ]; then continue; fi
    if [ "$(tr -cd '\0' < "$file" | head -c1 | wc -c)" != 0 ]; then continue; fi
    checked=$((checked + 1))
    if grep -q $'\r' "$file"; then
        echo "text: $file: CRLF line endings (want LF): line $(grep -n -m1 $'\r' "$file" | cut -d: -f1)" >&2
        problems=$((problems + 1))
    fi
    if [ -n "$(tail -c1 "$file")" ]; then
        echo "text: $file: no newline at the end" >&2
        problems=$((problems + 1))
    fi
done
echo "text: $checked text files checked, $problems problems" >&2
[ "$problems" = 0 ]
