#!/usr/bin/env python3
"""Command trainers for `pipelinectl experiment run` on scikit-learn: an SVM (RBF kernel with
probability estimates), a random forest, an MLP and AdaBoost.

    sklearn_trainer.py svm|random_forest|mlp|adaboost

Contract (see README, Dataset experiments): $PIPELINE_DATA_DIR holds train.csv,
validation.csv and test.csv (id,label, then the prepared features) and dataset.json (classes);
this writes $PIPELINE_OUTPUT_DIR/scores.csv (split,id,label, then a probability per class, in
dataset.json's order). $PIPELINE_SEED seeds every model.
"""
import csv
import json
import os
import sys

import numpy as np
from sklearn.ensemble import AdaBoostClassifier, RandomForestClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.svm import SVC

data, out = os.environ["PIPELINE_DATA_DIR"], os.environ["PIPELINE_OUTPUT_DIR"]
seed = int(os.environ.get("PIPELINE_SEED", "42"))
classes = json.load(open(os.path.join(data, "dataset.json")))["classes"]
models = {
    "svm": lambda: SVC(kernel="rbf", probability=True, random_state=seed),
    "random_forest": lambda: RandomForestClassifier(n_estimators=200, random_state=seed),
    "mlp": lambda: MLPClassifier(hidden_layer_sizes=(64,), max_iter=1000, random_state=seed),
    "adaboost": lambda: AdaBoostClassifier(n_estimators=100, random_state=seed),
}
if len(sys.argv) != 2 or sys.argv[1] not in models:
    sys.exit(f"usage: sklearn_trainer.py {'|'.join(models)}")


def read(split):
    with open(os.path.join(data, f"{split}.csv")) as f:
        rows = list(csv.reader(f))[1:]
    return [r[0] for r in rows], [r[1] for r in rows], np.array([[float(v) for v in r[2:]] for r in rows])


_, train_labels, train_x = read("train")
model = models[sys.argv[1]]().fit(train_x, train_labels)
with open(os.path.join(out, "scores.csv"), "w", newline="") as f:
    writer = csv.writer(f)
    writer.writerow(["split", "id", "label"] + classes)
    for split in ("validation", "test"):
        ids, labels, x = read(split)
        probabilities = model.predict_proba(x)
        column = {c: i for i, c in enumerate(model.classes_)}
        for item, label, p in zip(ids, labels, probabilities):
            writer.writerow([split, item, label] + [p[column[c]] if c in column else 0.0 for c in classes])
