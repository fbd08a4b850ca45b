"""Checks Benchmarks/bench_gate.py: a drop past the tolerance fails, within it passes, a missing
row of a part that ran fails, a part that did not run is skipped, the baseline keeps parts that
did not run, and with a confirming run a row counts at its best. Run by `make check-infra`."""
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

        # A confirming run: each row counts at its best over the runs, and `moved` names the parts to rerun.
        again = os.path.join(work, "again")
        bench_gate.record(out, "dataset", {"ingest vs pillow": 3.0, "ingest vs simd": 2.0})
        bench_gate.record(out, "normalize", {"24 MP vs pillow": 3.0})
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            bench_gate.moved_parts(base, [out])
        assert printed.getvalue().strip() == "dataset", "moved names the part with a failing row"
        bench_gate.record(again, "dataset", {"ingest vs pillow": 4.3, "ingest vs simd": 1.5})
        assert quiet(bench_gate.check, base, out, again) == 0, "a drop one run does not repeat passes"
        bench_gate.record(again, "dataset", {"ingest vs pillow": 3.2, "ingest vs simd": 1.5})
        assert quiet(bench_gate.check, base, out, again) == 1, "a drop both runs show fails"
    print("bench gate: drops past 10 % fail, missing rows fail, parts not run are skipped, the baseline keeps lows, "
          "a drop must repeat in the confirming run")


if __name__ == "__main__":
    main()
