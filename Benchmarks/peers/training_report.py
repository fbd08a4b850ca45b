"""The training part of `make bench`: the builtin trainer and the PyTorch one (the command
backend running examples/trainers/pytorch_cnn.py), both launched by pipeline-train on the same
normalize version, read back from MLflow: images/s per epoch and the best validation accuracy.
Each side may have run several rounds (run ids joined by commas): its fastest run counts.

    training_report.py MLFLOW_URI BUILTIN_RUN_ID[,ID...] PYTORCH_RUN_ID[,ID...] OUT_DIR
"""
import json
import os
import statistics
import sys
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import bench_gate  # noqa: E402


def history(uri, run, key):
    query = urllib.parse.urlencode({"run_id": run, "metric_key": key, "max_results": 1000})
    with urllib.request.urlopen(f"{uri}/api/2.0/mlflow/metrics/get-history?{query}") as response:
        metrics = json.load(response).get("metrics", [])
    return [m["value"] for m in sorted(metrics, key=lambda m: (m.get("step", 0), m.get("timestamp", 0)))]


def main():
    uri, builtin, pytorch, out = sys.argv[1:5]
    rows = {}
    for name, runs in (("builtin (Swift, OpenBLAS)", builtin), ("PyTorch CPU", pytorch)):
        for run in runs.split(","):
            speeds = history(uri, run, "images_per_second")
            accuracy = history(uri, run, "val_accuracy")
            # The first epoch pays for warm-up (allocations, PyTorch's kernels): the median of the rest.
            steady = speeds[1:] or speeds
            row = {"epochs": len(speeds), "images_per_second": statistics.median(steady),
                   "first_epoch": speeds[0] if speeds else 0, "best_val_accuracy": max(accuracy or [0]),
                   "rounds": len(runs.split(","))}
            if name not in rows or row["images_per_second"] > rows[name]["images_per_second"]:
                rows[name] = row
    ours, peer = rows["builtin (Swift, OpenBLAS)"], rows["PyTorch CPU"]
    print("\nTraining: the demo CNN, same images, epochs, batch size, optimiser and threads, through pipeline-train; "
          f"the fastest of {ours['rounds']} rounds each")
    print(f"{'trainer':<26} | {'epochs':>6} {'images/s':>9} {'1st epoch':>9} {'best val acc':>12}")
    for name, row in rows.items():
        print(f"{name:<26} | {row['epochs']:>6} {row['images_per_second']:>9.0f} {row['first_epoch']:>9.0f} "
              f"{row['best_val_accuracy']:>12.4f}")
    ratio = ours["images_per_second"] / peer["images_per_second"]
    gap = (ours["best_val_accuracy"] - peer["best_val_accuracy"]) * 100
    print(f"builtin vs PyTorch: {ratio:.2f}x the images/s (goal 1.0x), {gap:+.1f} points of validation accuracy "
          f"(goal within 1)")
    bench_gate.record(out, "training", {"builtin trainer vs PyTorch CPU (images/s)": ratio})


if __name__ == "__main__":
    main()
