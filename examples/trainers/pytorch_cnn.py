#!/usr/bin/env python3
"""The builtin CNN in PyTorch, as a trainer for pipeline-train's command backend
(train.backend: command, train.command: "python3 examples/trainers/pytorch_cnn.py").

It follows the command contract (README, "Stage 3"): it reads $PIPELINE_DATA_DIR/labels.jsonl,
the images under images/ and dataset.json (classes, per-channel mean and deviation, the training
variant), trains for $PIPELINE_EPOCHS epochs, prints one JSON object of metrics a line per epoch
(streamed into MLflow), and writes its model to $PIPELINE_OUTPUT_DIR: model.pt (the state dict
of the best epoch) and model.onnx (the same graph and preprocessing as
`pipelinectl model export --format onnx`: input `pixels` float32 [N, C, H, W] 0-255, output
`probabilities`).

The network and its training are the builtin's, from the same configuration keys: blocks of
`Conv 3x3 (padding 1) -> ReLU -> MaxPool 2x2` with $PIPELINE_CONVOLUTIONS channels, a dense
softmax head, He-normal convolution weights and N(0, 1/fan-in) dense weights with zero biases,
SGD with $PIPELINE_MOMENTUM and $PIPELINE_WEIGHT_DECAY at $PIPELINE_LEARNING_RATE in mini-batches
of $PIPELINE_BATCH_SIZE, early stopping after $PIPELINE_PATIENCE epochs without a better
validation accuracy. $PIPELINE_SEED means what it means to the builtin trainer: the initial
weights and each epoch's order of examples come from the builtin's generator (builtin_random.py,
beside this file, which the tests check against the Swift one bit for bit),
so both trainers start from the same network and see the same mini-batches; their first epoch's
loss agrees to about six digits (at a learning rate where training is not chaotic), after which
floating-point summation order makes them drift apart as two runs of either would with a
slightly different learning rate. It runs on a GPU when there is one (as it is, on a GPU node),
else on $PIPELINE_THREADS CPU threads (default: every core), with the images decoded once into
memory.

images_per_second is the training images over the epoch's training time (validation excluded),
as the builtin trainer reports it.
"""
import json
import os
import sys
import time
import warnings

import numpy as np
import torch
from PIL import Image
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from builtin_random import initial_weights, order  # noqa: E402  (beside this file)


def environment(name, default):
    value = os.environ.get(name)
    return default if value in (None, "") else value


data = os.environ["PIPELINE_DATA_DIR"]
output = os.environ["PIPELINE_OUTPUT_DIR"]
epochs = int(environment("PIPELINE_EPOCHS", "3"))
batch_size = int(environment("PIPELINE_BATCH_SIZE", "32"))
rate = float(environment("PIPELINE_LEARNING_RATE", "0.02"))
momentum = float(environment("PIPELINE_MOMENTUM", "0.9"))
decay = float(environment("PIPELINE_WEIGHT_DECAY", "0.0001"))
patience = int(environment("PIPELINE_PATIENCE", "4"))
seed = int(environment("PIPELINE_SEED", "1"))
convolutions = [int(c) for c in environment("PIPELINE_CONVOLUTIONS", "8,16,32").split(",") if c.strip()]
threads = int(environment("PIPELINE_THREADS", str(os.cpu_count() or 1)))

torch.manual_seed(seed)


device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
if device.type == "cpu":
    torch.set_num_threads(threads)

with open(os.path.join(data, "dataset.json")) as f:
    dataset = json.load(f)
classes = dataset["classes"]
mean = np.array(dataset["mean"], dtype=np.float32)
deviation = np.maximum(np.array(dataset["std"], dtype=np.float32), 1e-3)
rows = [json.loads(line) for line in open(os.path.join(data, "labels.jsonl")) if line.strip()]


def load(split):
    """The split's images as normalised float32 [N, C, H, W] and their labels."""
    chosen = [r for r in rows if r["split"] == split and r["label"] in classes]
    pixels, labels = [], []
    for row in chosen:
        with Image.open(os.path.join(data, row["file"])) as image:
            array = np.asarray(image.convert("RGB"), dtype=np.float32) / 255
        pixels.append(((array - mean) / deviation).transpose(2, 0, 1))
        labels.append(classes.index(row["label"]))
    if not pixels:
        return torch.zeros((0, 3, 1, 1)), torch.zeros((0,), dtype=torch.long)
    return torch.from_numpy(np.stack(pixels)), torch.tensor(labels, dtype=torch.long)


train_x, train_y = load("train")
validation_x, validation_y = load("validation")
channels, height, width = train_x.shape[1:]
print(f"pytorch {torch.__version__} on {device} ({threads} threads): {len(train_y)} training and "
      f"{len(validation_y)} validation images of {channels}x{height}x{width}, classes {classes}", file=sys.stderr)

# The builtin's initial weights for this seed (He-normal convolutions, N(0, 1/features) head,
# zero biases), so both trainers start from the same network.
initial = initial_weights(seed, channels, height, width, convolutions, len(classes))
layers, c, h, w = [], channels, height, width
for out in convolutions:
    layers += [nn.Conv2d(c, out, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
    c, h, w = out, h // 2, w // 2
dense = nn.Linear(c * h * w, len(classes))
with torch.no_grad():
    for layer, weights in zip([layer for layer in layers if isinstance(layer, nn.Conv2d)] + [dense], initial):
        layer.weight.copy_(torch.tensor(weights, dtype=torch.float32).reshape(layer.weight.shape))
        layer.bias.zero_()
model = nn.Sequential(*layers, nn.Flatten(), dense).to(device)
optimizer = torch.optim.SGD(model.parameters(), lr=rate, momentum=momentum, weight_decay=decay)
loss_function = nn.CrossEntropyLoss()

best = (-1.0, float("inf"), None)
stale = 0
for epoch in range(1, epochs + 1):
    model.train()
    # The builtin's order for this epoch (Trainer.order), drawn before the clock starts.
    epoch_order = torch.tensor(order(len(train_y), seed, epoch), dtype=torch.long)
    started = time.perf_counter()
    total_loss, right = 0.0, 0
    for start in range(0, len(epoch_order), batch_size):
        index = epoch_order[start:start + batch_size]
        x, y = train_x[index].to(device), train_y[index].to(device)
        optimizer.zero_grad()
        logits = model(x)
        loss = loss_function(logits, y)
        loss.backward()
        optimizer.step()
        total_loss += loss.item() * len(index)
        right += int((logits.argmax(1) == y).sum())
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = max(time.perf_counter() - started, 1e-6)
    model.eval()
    with torch.no_grad():
        logits = model(validation_x.to(device)) if len(validation_y) else torch.zeros((0, len(classes)))
        validation_loss = float(loss_function(logits, validation_y.to(device))) if len(validation_y) else 0.0
        validation_accuracy = float((logits.argmax(1).cpu() == validation_y).float().mean()) if len(validation_y) else 0.0
    print(json.dumps({
        "epoch": epoch, "loss": total_loss / max(1, len(train_y)), "accuracy": right / max(1, len(train_y)),
        "val_loss": validation_loss, "val_accuracy": validation_accuracy,
        "images_per_second": len(train_y) / seconds}), flush=True)
    if validation_accuracy > best[0] or (validation_accuracy == best[0] and validation_loss < best[1]):
        best = (validation_accuracy, validation_loss, {k: v.detach().clone() for k, v in model.state_dict().items()})
        stale = 0
    else:
        stale += 1
        if stale >= patience:
            break

model.load_state_dict(best[2])
torch.save(model.state_dict(), os.path.join(output, "model.pt"))


class WithPreprocessing(nn.Module):
    """Takes pixels 0-255 as `pipelinectl model export --format onnx` does."""

    def __init__(self, network):
        super().__init__()
        self.network = network
        self.register_buffer("mean", torch.from_numpy(mean).reshape(1, -1, 1, 1))
        self.register_buffer("deviation", torch.from_numpy(deviation).reshape(1, -1, 1, 1))

    def forward(self, pixels):
        return torch.softmax(self.network((pixels / 255 - self.mean) / self.deviation), dim=1)


try:
    warnings.filterwarnings("ignore", category=DeprecationWarning)  # the TorchScript exporter: no onnxscript needed
    torch.onnx.export(
        WithPreprocessing(model.cpu().eval()), torch.zeros((1, channels, height, width)),
        os.path.join(output, "model.onnx"), input_names=["pixels"], output_names=["probabilities"],
        dynamic_axes={"pixels": {0: "N"}, "probabilities": {0: "N"}}, opset_version=13, dynamo=False)
except Exception as error:  # ONNX export needs the onnx package; the state dict is the model all the same
    print(f"model.onnx not written: {error}", file=sys.stderr)
print(f"best validation accuracy {best[0]:.4f}", file=sys.stderr)
