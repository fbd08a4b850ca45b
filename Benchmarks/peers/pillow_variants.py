"""The peer for normalize: the Pillow script a user would write. Each image is opened,
EXIF-transposed and converted to RGB once, then each of 3 sizes (1024 and 512 contained,
256x256 centre-cropped) is resized with LANCZOS and saved as JPEG and WebP (quality 85).
One process per core.

    pillow_variants.py OUTPUT_DIR IMAGE...    prints {"seconds", "images", "max_rss_kib"}
"""
import json
import os
import resource
import sys
import time
from multiprocessing import Pool

from PIL import Image, ImageOps

OUT = sys.argv[1]


def render(job):
    index, path = job
    with Image.open(path) as opened:
        image = ImageOps.exif_transpose(opened).convert("RGB")
    variants = {}
    for size in (1024, 512):
        copy = image.copy()
        copy.thumbnail((size, size), Image.LANCZOS)
        variants[size] = copy
    variants[256] = ImageOps.fit(image, (256, 256), Image.LANCZOS)
    for size, variant in variants.items():
        variant.save(f"{OUT}/{index}-{size}.jpg", "JPEG", quality=85, optimize=True)
        variant.save(f"{OUT}/{index}-{size}.webp", "WEBP", quality=85)


if __name__ == "__main__":
    images = sys.argv[2:]
    start = time.perf_counter()
    with Pool(os.cpu_count()) as pool:
        pool.map(render, list(enumerate(images)), chunksize=1)
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "images": len(images),
                      "max_rss_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
