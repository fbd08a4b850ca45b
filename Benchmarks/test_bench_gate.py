"""Checks Benchmarks/bench_gate.py: a drop past the tolerance fails, within it passes, a missing
row of a part that ran fails, a part that did not run is skipped, and the baseline keeps parts
that did not run. Run by `make check-infra`."""
import contextlib
import io
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_gate  # noqa: E402


def quiet(call, *args):
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return call(*args)


def main():
    with tempfile.TemporaryDirectory() as work:
        out, base = os.path.join(work, "out"), os.path.join(work, "baseline.json")
        bench_gate.record(out, "dataset", {"ingest vs pillow": 4.0, "ingest vs simd": 2.0})
        bench_gate.record(out, "normalize", {"24 MP vs pillow": 3.0})
        assert quiet(bench_gate.write_baseline, base, out) == 0
        assert quiet(bench_gate.check, base, out) == 0, "the run it was made from passes"

        bench_gate.record(out, "dataset", {"ingest vs pillow": 3.7, "ingest vs simd": 2.5})
        assert quiet(bench_gate.check, base, out) == 0, "7.5 % lower is within 10 %"
        bench_gate.record(out, "dataset", {"ingest vs pillow": 3.5, "ingest vs simd": 2.5})
        assert quiet(bench_gate.check, base, out) == 1, "12.5 % lower fails"
        bench_gate.record(out, "dataset", {"ingest vs simd": 2.5})
        assert quiet(bench_gate.check, base, out) == 1, "a missing row of a part that ran fails"

        os.remove(os.path.join(out, "ratios-normalize.json"))
        bench_gate.record(out, "dataset", {"ingest vs pillow": 4.4, "ingest vs simd": 1.9})
        assert quiet(bench_gate.check, base, out) == 0, "a part that did not run is skipped"
        assert quiet(bench_gate.write_baseline, base, out) == 0
        with open(base) as f:
            parts = json.load(f)["parts"]
        assert parts["dataset"] == {"ingest vs pillow": 4.0, "ingest vs simd": 1.9}, "each row keeps its lowest"
        assert parts["normalize"] == {"24 MP vs pillow": 3.0}, "the baseline keeps a part that did not run"
        assert quiet(bench_gate.write_baseline, base, out, True) == 0
        with open(base) as f:
            parts = json.load(f)["parts"]
        assert parts["dataset"]["ingest vs pillow"] == 4.4, "a reset takes this run's rows"
        assert quiet(bench_gate.check, base, os.path.join(work, "empty")) == 2, "no run at all is a usage error"
    print("bench gate: drops past 10 % fail, missing rows fail, parts not run are skipped, the baseline keeps lows")


if __name__ == "__main__":
    main()
