#!/usr/bin/env python3
"""A command trainer for `pipelinectl experiment run`: a variational quantum classifier on
PennyLane's default.qubit simulator. The features are reduced to as many qubits as wanted (4 by
default, PIPELINE_VQC_QUBITS) by PCA and angle-encoded; two strongly entangling layers; one
qubit's expectation per class (one-vs-rest, up to the qubit count) trained with Adam on the
cross-entropy of their softmax. Same contract as sklearn_trainer.py; its environment:
scripts/experiments-env.sh. Slow by nature (a simulator): for small datasets.
"""
import csv
import json
import os

import pennylane as qml
from pennylane import numpy as pnp
from sklearn.decomposition import PCA
import numpy as np

data, out = os.environ["PIPELINE_DATA_DIR"], os.environ["PIPELINE_OUTPUT_DIR"]
seed = int(os.environ.get("PIPELINE_SEED", "42"))
qubits = int(os.environ.get("PIPELINE_VQC_QUBITS", "4"))
classes = json.load(open(os.path.join(data, "dataset.json")))["classes"]
if len(classes) > qubits:
    raise SystemExit(f"{len(classes)} classes need at least as many qubits (PIPELINE_VQC_QUBITS={qubits})")


def read(split):
    with open(os.path.join(data, f"{split}.csv")) as f:
        rows = list(csv.reader(f))[1:]
    return [r[0] for r in rows], [classes.index(r[1]) for r in rows], np.array([[float(v) for v in r[2:]] for r in rows])


_, train_y, train_x = read("train")
pca = PCA(n_components=min(qubits, train_x.shape[1]), random_state=seed).fit(train_x)
scale = np.abs(pca.transform(train_x)).max(axis=0) + 1e-9


def encode(x):
    z = pca.transform(x) / scale * np.pi / 2
    return np.pad(z, ((0, 0), (0, qubits - z.shape[1])))


device = qml.device("default.qubit", wires=qubits)


@qml.qnode(device)
def circuit(weights, x):
    qml.AngleEmbedding(x, wires=range(qubits))
    qml.StronglyEntanglingLayers(weights, wires=range(qubits))
    return [qml.expval(qml.PauliZ(i)) for i in range(len(classes))]


def probabilities(weights, x):
    logits = pnp.stack(circuit(weights, x)) * 3
    e = pnp.exp(logits - pnp.max(logits))
    return e / pnp.sum(e)


rng = np.random.default_rng(seed)
weights = pnp.array(rng.normal(0, 0.1, qml.StronglyEntanglingLayers.shape(n_layers=2, n_wires=qubits)), requires_grad=True)
x_train = encode(train_x)
optimizer = qml.AdamOptimizer(0.1)
for epoch in range(int(os.environ.get("PIPELINE_EPOCHS", "15"))):
    for i in rng.permutation(len(x_train))[:64]:
        weights = optimizer.step(lambda w: -pnp.log(probabilities(w, x_train[i])[train_y[i]] + 1e-9), weights)
with open(os.path.join(out, "scores.csv"), "w", newline="") as f:
    writer = csv.writer(f)
    writer.writerow(["split", "id", "label"] + classes)
    for split in ("validation", "test"):
        ids, ys, x = read(split)
        for item, y, row in zip(ids, ys, encode(x)):
            writer.writerow([split, item, classes[y]] + [float(p) for p in probabilities(weights, row)])
