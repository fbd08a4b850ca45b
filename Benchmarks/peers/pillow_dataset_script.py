"""The peer for the dataset data path (BENCH=dataset): the Python script a user would write
instead of ingest + normalize, in one process on one core as such scripts run.

For each image: open it and decode it fully (a truncated or corrupt file is rejected, as
ingest rejects it), SHA-256 its bytes, copy it to a content-addressed folder
(<out>/curated/<sha[:2]>/<sha>.jpg, written to a temporary name, fsynced and renamed, as the
pipeline's stores write), then make the variants from one decode: 1024, 512 and 256 contained
(never enlarged) as JPEG quality 82, and a 32x32 padded PNG for training, and write a JSON
lines manifest. With Pillow-SIMD installed in place of Pillow the same script is that peer.

    pillow_dataset_script.py OUT_DIR IMAGE...   prints {"seconds", "images", "rejected", "max_rss_kib", "pillow"}
"""
import hashlib
import json
import os
import resource
import sys
import time

import PIL
from PIL import Image, ImageOps

SIZES = (1024, 512, 256)


def durable_write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    temporary = path + ".tmp"
    with open(temporary, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(temporary, path)


def process(path, out):
    with open(path, "rb") as f:
        data = f.read()
    sha = hashlib.sha256(data).hexdigest()
    with Image.open(path) as opened:
        opened.load()  # full decode: the validation
        image = ImageOps.exif_transpose(opened).convert("RGB")
    durable_write(f"{out}/curated/{sha[:2]}/{sha}.jpg", data)
    variants = {}
    for size in SIZES:
        copy = image.copy()
        copy.thumbnail((size, size), Image.LANCZOS)  # contained, never enlarged
        target = f"{out}/variants/{size}/{sha}.jpg"
        os.makedirs(os.path.dirname(target), exist_ok=True)
        copy.save(target, "JPEG", quality=82)
        variants[str(size)] = [copy.width, copy.height]
    small = ImageOps.pad(image, (32, 32), Image.LANCZOS, color=(0, 0, 0))
    target = f"{out}/variants/train/{sha}.png"
    os.makedirs(os.path.dirname(target), exist_ok=True)
    small.save(target, "PNG")
    return {"source": os.path.basename(path), "sha256": sha, "size": len(data), "width": image.width,
            "height": image.height, "variants": variants}


def main():
    out, images = sys.argv[1], sys.argv[2:]
    start = time.perf_counter()
    rejected = 0
    with open(f"{out}/manifest.jsonl", "w") as manifest:
        for path in images:
            try:
                manifest.write(json.dumps(process(path, out)) + "\n")
            except (OSError, SyntaxError, ValueError) as error:
                rejected += 1
                manifest.write(json.dumps({"source": path, "rejected": str(error)}) + "\n")
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "images": len(images), "rejected": rejected,
                      "max_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                      "pillow": PIL.__version__}))


if __name__ == "__main__":
    main()
