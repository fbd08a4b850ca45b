#!/usr/bin/env bash
# libFuzzer targets for the parsers of outside bytes (Fuzz/: bucket notifications and SNS
# messages, COCO and Label Studio files, the configuration, model files, S3 XML answers).
#   scripts/fuzz.sh [SECONDS] [TARGET...]   build with -sanitize=fuzzer,address, then run each
#                                           target SECONDS (default 60) from its committed seed
#                                           corpus (Fuzz/Corpus/<target>) and its regression
#                                           inputs (Fuzz/Regressions/<target>), which must pass
# New inputs go to .build/fuzz-corpus (not committed); a crash's input goes to
# .build/fuzz-crashes/<target>-crash-<sha1>: fix the cause, then keep the input as a regression
# case under Fuzz/Regressions/<target>/. Prints executions and executions per second per target.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SWIFT=${SWIFT:-swift}
DURATION=${1:-60}
shift || true
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(FuzzBucketNotification FuzzAnnotations FuzzConfig FuzzModelFile FuzzS3XML)
BUILD="$ROOT/.build/fuzz"

log() { printf 'fuzz: %s\n' "$*" >&2; }

log "building the fuzz targets (-sanitize=fuzzer,address)"
"$SWIFT" build --package-path "$ROOT/Fuzz" -c debug --build-path "$BUILD" \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library >"$BUILD.log" 2>&1 \
    || { grep -E "error:" "$BUILD.log" | grep -v "Cannot export" >&2; log "build failed (see $BUILD.log)"; exit 1; }

mkdir -p "$ROOT/.build/fuzz-crashes"
status=0
for target in "${TARGETS[@]}"; do
    binary="$BUILD/debug/$target"
    [ -x "$binary" ] || { log "no target $target"; exit 2; }
    seeds="$ROOT/Fuzz/Corpus/$target"
    regressions="$ROOT/Fuzz/Regressions/$target"
    work="$ROOT/.build/fuzz-corpus/$target"
    mkdir -p "$work"
    # Each kept crash input once, as it was found: it must not crash any more.
    if [ -d "$regressions" ] && [ -n "$(ls -A "$regressions")" ]; then
        if ! SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=detect_leaks=0 "$binary" "$regressions"/* >"$work.regressions.log" 2>&1; then
            log "$target: a regression input crashes again:"; tail -n 30 "$work.regressions.log" >&2; status=1; continue
        fi
    fi
    # Leaks are not crashes here: Foundation keeps caches for the life of the process.
    if SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=detect_leaks=0 "$binary" -max_total_time="$DURATION" -timeout=10 \
        -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 -artifact_prefix="$ROOT/.build/fuzz-crashes/$target-" \
        "$work" "$seeds" >"$work.log" 2>&1; then
        runs=$(awk '/stat::number_of_executed_units/ {print $2}' "$work.log")
        rate=$(awk '/stat::average_exec_per_sec/ {print $2}' "$work.log")
        corpus=$(find "$work" "$seeds" -type f | wc -l)
        printf 'fuzz: %-24s %10s executions in %s s, %7s/s, corpus %s, no crash\n' "$target" "$runs" "$DURATION" "$rate" "$corpus"
    else
        log "$target crashed:"; grep -E "ERROR|Fatal error|SUMMARY|artifact|Test unit written" "$work.log" | head -n 12 >&2
        status=1
    fi
done
exit $status
