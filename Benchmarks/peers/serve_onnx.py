"""The serving part's peer: the Python service a team would write instead of
`pipeline-infer serve`, serving the same model exported by `pipelinectl model export --format onnx`.
FastAPI on uvicorn, one worker process per core; each request's image bytes are decoded by Pillow,
rendered as the model's training variant (contained in its size, padded with black, as `fit: pad`
does), run through onnxruntime, and answered with the top classes as JSON.

    uvicorn --app-dir Benchmarks/peers serve_onnx:app --workers N --port P   (ONNX_MODEL=path/model.onnx)
"""
import io
import os

import numpy as np
import onnx
import onnxruntime
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from PIL import Image, ImageOps

MODEL = os.environ["ONNX_MODEL"]
metadata = {p.key: p.value for p in onnx.load(MODEL, load_external_data=False).metadata_props}
CLASSES = metadata["classes"].split("\n")
options = onnxruntime.SessionOptions()
options.intra_op_num_threads = 1  # one worker per core, each on one thread
SESSION = onnxruntime.InferenceSession(MODEL, options, providers=["CPUExecutionProvider"])
_, CHANNELS, HEIGHT, WIDTH = SESSION.get_inputs()[0].shape
TOP_K = 3
app = FastAPI()


@app.post("/predict")
async def predict(request: Request):
    body = await request.body()
    if not body:
        return JSONResponse({"error": "empty body"}, status_code=400)
    try:
        with Image.open(io.BytesIO(body)) as opened:
            image = ImageOps.exif_transpose(opened).convert("RGB")
            width, height = image.size
    except Exception as error:
        return JSONResponse({"error": f"not an image: {error}"}, status_code=422)
    image.thumbnail((WIDTH, HEIGHT), Image.LANCZOS)
    canvas = Image.new("RGB", (WIDTH, HEIGHT))
    canvas.paste(image, ((WIDTH - image.width) // 2, (HEIGHT - image.height) // 2))
    pixels = np.asarray(canvas, dtype=np.float32).transpose(2, 0, 1)[None]
    (probabilities,) = SESSION.run(["probabilities"], {"pixels": pixels})
    order = np.argsort(-probabilities[0])[:TOP_K]
    return JSONResponse({"width": width, "height": height, "predictions": [
        {"label": CLASSES[i], "score": float(probabilities[0][i])} for i in order]})


@app.get("/livez")
async def livez():
    return Response("ok")
