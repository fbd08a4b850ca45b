"""The ONNX judge of `pipelinectl model export --format onnx`: the exported file passes the ONNX
checker (full check, shapes inferred), and onnxruntime's class probabilities for the given
inputs match the ones the Swift model computed.

    onnx_agreement.py MODEL.onnx INPUTS.f32 EXPECTED.json

INPUTS.f32: float32 little-endian pixels [N, C, H, W] (0-255) as the model's metadata documents
them; EXPECTED.json: {"shape": [N, C, H, W], "probabilities": [[...], ...]}. Prints
{"max_difference", "images", "classes", "opset", "inputs", "outputs"}; exits 1 when a difference
exceeds 1e-4 or the argmax differs.
"""
import json
import sys

import numpy as np
import onnx
import onnxruntime


def main():
    model_path, inputs_path, expected_path = sys.argv[1:4]
    model = onnx.load(model_path)
    onnx.checker.check_model(model, full_check=True)
    with open(expected_path) as f:
        expected = json.load(f)
    pixels = np.fromfile(inputs_path, dtype="<f4").reshape(expected["shape"])
    session = onnxruntime.InferenceSession(model_path, providers=["CPUExecutionProvider"])
    (got,) = session.run(["probabilities"], {"pixels": pixels})
    want = np.array(expected["probabilities"], dtype=np.float32)
    difference = float(np.abs(got - want).max())
    same_classes = bool((got.argmax(axis=1) == want.argmax(axis=1)).all())
    print(json.dumps({
        "max_difference": difference, "images": int(got.shape[0]), "classes": int(got.shape[1]),
        "same_top_class": same_classes, "opset": int(model.opset_import[0].version),
        "inputs": [i.name for i in session.get_inputs()], "outputs": [o.name for o in session.get_outputs()],
        "metadata": {p.key: p.value for p in model.metadata_props},
    }))
    return 0 if difference <= 1e-4 and same_classes else 1


if __name__ == "__main__":
    sys.exit(main())
