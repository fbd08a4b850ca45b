#!/usr/bin/env python3
"""A command trainer for `pipelinectl experiment run` on XGBoost (gradient-boosted trees, the
hist method on the CPU); same contract as sklearn_trainer.py. Its environment:
scripts/experiments-env.sh.
"""
import csv
import json
import os

import numpy as np
import xgboost

data, out = os.environ["PIPELINE_DATA_DIR"], os.environ["PIPELINE_OUTPUT_DIR"]
seed = int(os.environ.get("PIPELINE_SEED", "42"))
classes = json.load(open(os.path.join(data, "dataset.json")))["classes"]


def read(split):
    with open(os.path.join(data, f"{split}.csv")) as f:
        rows = list(csv.reader(f))[1:]
    return [r[0] for r in rows], [classes.index(r[1]) for r in rows], np.array([[float(v) for v in r[2:]] for r in rows])


_, train_y, train_x = read("train")
model = xgboost.XGBClassifier(n_estimators=200, max_depth=4, learning_rate=0.1, tree_method="hist",
                              random_state=seed, n_jobs=1)
model.fit(train_x, train_y)
with open(os.path.join(out, "scores.csv"), "w", newline="") as f:
    writer = csv.writer(f)
    writer.writerow(["split", "id", "label"] + classes)
    for split in ("validation", "test"):
        ids, ys, x = read(split)
        probabilities = model.predict_proba(x)
        for item, y, p in zip(ids, ys, probabilities):
            scores = [0.0] * len(classes)
            for column, c in enumerate(model.classes_):
                scores[int(c)] = float(p[column])
            writer.writerow([split, item, classes[y]] + scores)
