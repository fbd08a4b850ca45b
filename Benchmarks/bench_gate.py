"""The benchmarks' regression gate: ratios against a committed baseline.

Every part of `make bench` records its ratios (this pipeline's speed over its peer's, measured in
the same run: above 1 the pipeline is faster) with

    python3 Benchmarks/bench_gate.py record OUT_DIR PART NAME=RATIO [NAME=RATIO ...]

which writes OUT_DIR/ratios-PART.json. Then

    python3 Benchmarks/bench_gate.py check Benchmarks/baseline.json OUT_DIR [OUT_DIR ...]
    python3 Benchmarks/bench_gate.py moved Benchmarks/baseline.json OUT_DIR [OUT_DIR ...]
    python3 Benchmarks/bench_gate.py baseline Benchmarks/baseline.json OUT_DIR  (make bench-baseline)

`check` fails (exit 1) when any ratio of a part that ran is more than TOLERANCE (10 %) below the
baseline's, or when a baseline row of a part that ran is missing, printing the rows that moved.
Ratios, not times: the machines are shared and noisy, and a ratio of two things measured in one
run cancels most of what the machine does to both. Parts that did not run are named and skipped.
Given several runs, each row counts at its best: a slowdown must show in every run. `moved`
prints the parts (comma-separated) with a row that fails, for `make bench-check` to run those
parts once more and check both runs together: on this shared machine a single run moves some
ratios by more than 10 % (object-store GETs against s5cmd, the serving p99 by up to 50 %) while
a real slowdown shows in both runs.

`baseline` records the parts that ran, keeping the rows of parts that did not. A row already in
the baseline keeps the lower of its value and this run's: one run on a shared machine moves some
ratios by more than 10 % (this machine: object-store GETs, the floor of small photographs), so
the baseline is the lowest each ratio was seen in the runs recorded, and the gate flags a drop
beyond that. BENCH_BASELINE_RESET=1 starts the rows of the parts that ran from this run alone
(after a change that moved them on purpose).
"""
import json
import os
import sys

TOLERANCE = float(os.environ.get("BENCH_TOLERANCE", "0.10"))


def load_run(out_dir):
    """Every recorded part's ratios: {part: {name: ratio}}."""
    parts = {}
    for name in sorted(os.listdir(out_dir)) if os.path.isdir(out_dir) else []:
        if name.startswith("ratios-") and name.endswith(".json"):
            with open(os.path.join(out_dir, name)) as f:
                recorded = json.load(f)
            parts[recorded["part"]] = recorded["ratios"]
    return parts


def load_runs(out_dirs):
    """The ratios of several runs, each row at its best (highest) over the runs that have it."""
    best = {}
    for out_dir in out_dirs:
        for part, ratios in load_run(out_dir).items():
            rows = best.setdefault(part, {})
            for name, value in ratios.items():
                rows[name] = max(value, rows.get(name, value))
    return best


def moved_rows(baseline, run):
    """(part, name, baseline value, value or None) of every row of a part that ran that fails."""
    moved = []
    for part in sorted(baseline):
        if part not in run:
            continue
        for name, was in sorted(baseline[part].items()):
            now = run[part].get(name)
            if now is None or now < was * (1 - TOLERANCE):
                moved.append((part, name, was, now))
    return moved


def moved_parts(baseline_path, out_dirs):
    """Prints the parts with a failing row, comma-separated (nothing when every row passes)."""
    with open(baseline_path) as f:
        baseline = json.load(f)["parts"]
    print(",".join(sorted({part for part, _, _, _ in moved_rows(baseline, load_runs(out_dirs))})))
    return 0


def parse_pairs(pairs):
    ratios = {}
    for pair in pairs:
        name, _, value = pair.rpartition("=")
        if not name:
            sys.exit(f"bench_gate: '{pair}' is not NAME=RATIO")
        ratios[name] = float(value)
    return ratios


def record(out_dir, part, ratios):
    """Writes OUT_DIR/ratios-PART.json: {name: this pipeline's speed / the peer's, same run}."""
    ratios = {name: round(value, 4) for name, value in ratios.items()}
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, f"ratios-{part}.json")
    with open(path, "w") as f:
        json.dump({"part": part, "ratios": ratios}, f, indent=1, sort_keys=True)
        f.write("\n")


def check(baseline_path, *out_dirs):
    with open(baseline_path) as f:
        baseline = json.load(f)["parts"]
    run = load_runs(out_dirs)
    if not run:
        print(f"bench-check: no ratios in {', '.join(out_dirs)}: run make bench first", file=sys.stderr)
        return 2
    moved, rows = moved_rows(baseline, run), 0
    if len(out_dirs) > 1:
        print(f"(each row at its best over {len(out_dirs)} runs: {', '.join(out_dirs)})")
    print(f"{'part':<10} {'row':<58} {'baseline':>9} {'now':>9} {'change':>8}")
    for part in sorted(baseline):
        if part not in run:
            print(f"{part:<10} (not run this time: skipped)")
            continue
        for name, was in sorted(baseline[part].items()):
            now = run[part].get(name)
            rows += 1
            if now is None:
                print(f"{part:<10} {name:<58} {was:>9.3f} {'missing':>9}")
                continue
            change = now / was - 1
            flag = "  << slower" if now < was * (1 - TOLERANCE) else ""
            print(f"{part:<10} {name:<58} {was:>9.3f} {now:>9.3f} {change:>+7.1%}{flag}")
    for part in sorted(set(run) - set(baseline)):
        print(f"{part:<10} (not in the baseline: make bench-baseline records it)")
    if moved:
        print(f"\nbench-check: {len(moved)} of {rows} ratios dropped more than {TOLERANCE:.0%} below the baseline "
              f"({baseline_path}), or are missing:", file=sys.stderr)
        for part, name, was, now in moved:
            shown = "missing" if now is None else f"{now:.3f}"
            print(f"  {part}: {name}: {was:.3f} -> {shown}", file=sys.stderr)
        return 1
    print(f"\nbench-check: {rows} ratios within {TOLERANCE:.0%} of the baseline or better")
    return 0


def write_baseline(baseline_path, out_dir, reset=False):
    run = load_run(out_dir)
    if not run:
        print(f"bench-baseline: no ratios in {out_dir}: run make bench first", file=sys.stderr)
        return 2
    parts = {}
    if os.path.exists(baseline_path):
        with open(baseline_path) as f:
            parts = json.load(f)["parts"]
    for part, ratios in run.items():
        known = {} if reset else parts.get(part, {})
        parts[part] = {name: min(value, known.get(name, value)) for name, value in ratios.items()}
    with open(baseline_path, "w") as f:
        json.dump({"tolerance": TOLERANCE, "parts": parts}, f, indent=1, sort_keys=True)
        f.write("\n")
    print(f"bench-baseline: {baseline_path} now holds {', '.join(sorted(run))} from this run")
    return 0


def main():
    if len(sys.argv) >= 4 and sys.argv[1] == "record":
        record(sys.argv[2], sys.argv[3], parse_pairs(sys.argv[4:]))
        return 0
    if len(sys.argv) >= 4 and sys.argv[1] == "check":
        return check(sys.argv[2], *sys.argv[3:])
    if len(sys.argv) >= 4 and sys.argv[1] == "moved":
        return moved_parts(sys.argv[2], sys.argv[3:])
    if len(sys.argv) == 4 and sys.argv[1] == "baseline":
        return write_baseline(sys.argv[2], sys.argv[3], reset=os.environ.get("BENCH_BASELINE_RESET") == "1")
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
