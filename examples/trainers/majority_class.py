#!/usr/bin/env python3
"""An example trainer for pipeline-train's command backend (train.backend: command).

It follows the contract (see README, "Stage 3"): it reads $PIPELINE_DATA_DIR/labels.jsonl
and dataset.json, trains for $PIPELINE_EPOCHS epochs, prints one JSON object of metrics per
epoch on standard output (the launcher streams them into MLflow as they come), and writes its
model to $PIPELINE_OUTPUT_DIR. The "model" is the baseline every classifier must beat: it
predicts the most frequent training class. Python's standard library only.

    --fail-at-epoch N   exit with status 3 after epoch N-1 (to exercise failure handling)
"""
import argparse
import collections
import json
import os
import sys
import time

parser = argparse.ArgumentParser()
parser.add_argument("--fail-at-epoch", type=int, default=0)
args = parser.parse_args()

data = os.environ["PIPELINE_DATA_DIR"]
output = os.environ["PIPELINE_OUTPUT_DIR"]
epochs = int(os.environ.get("PIPELINE_EPOCHS", "3"))
rank = int(os.environ.get("PIPELINE_RANK", "0"))
world = int(os.environ.get("PIPELINE_WORLD_SIZE", "1"))

with open(os.path.join(data, "dataset.json")) as f:
    dataset = json.load(f)
rows = [json.loads(line) for line in open(os.path.join(data, "labels.jsonl")) if line.strip()]
train = [r for r in rows if r["split"] == "train"]
validation = [r for r in rows if r["split"] == "validation"]
print(f"rank {rank}/{world}: {len(train)} training and {len(validation)} validation images, "
      f"classes {dataset['classes']}", file=sys.stderr)

counts = collections.Counter()
for epoch in range(1, epochs + 1):
    if args.fail_at_epoch and epoch >= args.fail_at_epoch:
        print(f"failing on purpose at epoch {epoch}", file=sys.stderr)
        sys.exit(3)
    started = time.perf_counter()
    counts.update(r["label"] for r in train)
    guess = counts.most_common(1)[0][0]
    accuracy = sum(r["label"] == guess for r in train) / max(1, len(train))
    val_accuracy = sum(r["label"] == guess for r in validation) / max(1, len(validation))
    seconds = max(time.perf_counter() - started, 1e-6)
    print(json.dumps({"epoch": epoch, "accuracy": accuracy, "val_accuracy": val_accuracy,
                      "images_per_second": len(train) / seconds}), flush=True)
    time.sleep(0.2)

with open(os.path.join(output, "model.json"), "w") as f:
    json.dump({"kind": "majority-class", "prediction": guess, "classes": dataset["classes"]}, f)
