"""The training part of `make bench`: the builtin trainer and the PyTorch one (the command
backend running examples/trainers/pytorch_cnn.py), both launched by pipeline-train on the same
normalize version, read back from MLflow: images/s per epoch and the best validation accuracy.
Each side ran several rounds (run ids joined by commas, round N with seed N, the same seeds in the
same order on both sides): its fastest run counts for speed, and the accuracy compared is the mean
over the rounds of each run's best validation accuracy, with the difference seed by seed.

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
        row = {"rounds": []}
        for run in runs.split(","):
            speeds = history(uri, run, "images_per_second")
            accuracy = history(uri, run, "val_accuracy")
            # The first epoch pays for warm-up (allocations, PyTorch's kernels): the median of the rest.
            steady = speeds[1:] or speeds
            row["rounds"].append({"epochs": len(speeds), "images_per_second": statistics.median(steady),
                                  "first_epoch": speeds[0] if speeds else 0,
                                  "best_val_accuracy": max(accuracy or [0])})
        row["fastest"] = max(row["rounds"], key=lambda r: r["images_per_second"])
        row["mean_accuracy"] = statistics.mean(r["best_val_accuracy"] for r in row["rounds"])
        rows[name] = row
    ours, peer = rows["builtin (Swift, OpenBLAS)"], rows["PyTorch CPU"]
    seeds = len(ours["rounds"])
    print("\nTraining: the demo CNN, same images, epochs, batch size, optimiser, threads and seeds, through "
          f"pipeline-train; {seeds} rounds each (round N: seed N), the fastest counting for speed")
    header = " ".join(f"{'seed ' + str(n + 1):>7}" for n in range(seeds))
    print(f"{'trainer':<26} | {'epochs':>6} {'images/s':>9} {'1st epoch':>9} | best val acc: {header} {'mean':>7}")
    for name, row in rows.items():
        fastest = row["fastest"]
        accuracies = " ".join(f"{r['best_val_accuracy']:>7.4f}" for r in row["rounds"])
        print(f"{name:<26} | {fastest['epochs']:>6} {fastest['images_per_second']:>9.0f} "
              f"{fastest['first_epoch']:>9.0f} | {'':>13} {accuracies} {row['mean_accuracy']:>7.4f}")
    ratio = ours["fastest"]["images_per_second"] / peer["fastest"]["images_per_second"]
    gap = (ours["mean_accuracy"] - peer["mean_accuracy"]) * 100
    by_seed = ", ".join(f"{round((a['best_val_accuracy'] - b['best_val_accuracy']) * 100, 1) + 0.0:+.1f}"
                        for a, b in zip(ours["rounds"], peer["rounds"]))
    print(f"builtin vs PyTorch: {ratio:.2f}x the images/s (goal 1.0x); {gap:+.1f} points of mean best validation "
          f"accuracy over {seeds} seeds (goal within 1; seed by seed {by_seed})")
    bench_gate.record(out, "training", {
        "builtin trainer vs PyTorch CPU (images/s)": ratio,
        "builtin vs PyTorch mean best validation accuracy": ours["mean_accuracy"] / peer["mean_accuracy"]})


if __name__ == "__main__":
    main()
