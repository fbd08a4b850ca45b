#!/usr/bin/env python3
"""A command trainer for `pipelinectl experiment run` (standard library only): the nearest class
centroid, scoring each class by exp(-distance) normalised over the classes.

Contract: $PIPELINE_DATA_DIR holds train.csv, validation.csv and test.csv (id,label, then the
prepared features) and dataset.json; write $PIPELINE_OUTPUT_DIR/scores.csv with
split,id,label then one score column per class (in dataset.json's order).
"""
import csv
import json
import math
import os

data, out = os.environ["PIPELINE_DATA_DIR"], os.environ["PIPELINE_OUTPUT_DIR"]
classes = json.load(open(os.path.join(data, "dataset.json")))["classes"]


def rows(split):
    with open(os.path.join(data, f"{split}.csv")) as f:
        reader = csv.reader(f)
        next(reader)
        return [(r[0], r[1], [float(v) for v in r[2:]]) for r in reader]


train = rows("train")
centroids = {}
for c in classes:
    members = [x for _, label, x in train if label == c]
    centroids[c] = [sum(col) / len(members) for col in zip(*members)] if members else None
with open(os.path.join(out, "scores.csv"), "w", newline="") as f:
    writer = csv.writer(f)
    writer.writerow(["split", "id", "label"] + classes)
    for split in ("validation", "test"):
        for item, label, x in rows(split):
            near = [math.exp(-math.dist(x, centroids[c])) if centroids[c] else 0.0 for c in classes]
            total = sum(near) or 1.0
            writer.writerow([split, item, label] + [v / total for v in near])
