#!/usr/bin/env python3
"""The small real datasets scikit-learn ships in its wheel, as CSV files for `experiment run`:
iris, wine (its label column named Target), breast cancer (binary) and digits (8x8 images as 64
pixel columns). Nothing is downloaded.

    export_datasets.py [OUT_DIR]   (default: data/ beside this script)
"""
import csv
import os
import sys

from sklearn import datasets

out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
os.makedirs(out, exist_ok=True)
for name, loader, label in [("iris", datasets.load_iris, "label"), ("wine", datasets.load_wine, "Target"),
                            ("breast_cancer", datasets.load_breast_cancer, "label"),
                            ("digits", datasets.load_digits, "label")]:
    bunch = loader()
    features = [str(f).replace(" ", "_") for f in getattr(bunch, "feature_names", [])] or \
        [f"f{i}" for i in range(bunch.data.shape[1])]
    with open(os.path.join(out, f"{name}.csv"), "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id"] + features + [label])
        for index, (row, target) in enumerate(zip(bunch.data, bunch.target)):
            writer.writerow([f"{name}-{index}"] + [f"{v:g}" for v in row] + [bunch.target_names[target]])
    print(f"{out}/{name}.csv: {len(bunch.target)} rows, {len(features)} features")
