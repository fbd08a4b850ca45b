"""The peer for normalize: the Pillow script a user would write. Each image is opened,
EXIF-transposed and converted to RGB once, then each of 3 sizes (1024 and 512 contained,
256x256 centre-cropped) is resized with LANCZOS and saved as JPEG and WebP (quality 85).
One process per core.

    pillow_variants.py [--draft] OUTPUT_DIR IMAGE...    prints {"seconds", "images", "max_rss_kib", "pillow"}

--draft is what a competent user adds for JPEG: `Image.draft("RGB", (1024, 1024))` makes libjpeg
decode at the smallest DCT scale (1/2, 1/4, 1/8) that still covers the largest output, as
libvips' shrink-on-load does. Run on Pillow-SIMD it is the strongest Pillow peer.
"""
import json
import os
import resource
import sys
import time
from multiprocessing import Pool

from PIL import Image, ImageOps

DRAFT = sys.argv[1] == "--draft"
ARGS = sys.argv[2:] if DRAFT else sys.argv[1:]
OUT = ARGS[0]


def render(job):
    index, path = job
    with Image.open(path) as opened:
        if DRAFT and opened.format == "JPEG":
            opened.draft("RGB", (1024, 1024))
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
    images = ARGS[1:]
    start = time.perf_counter()
    with Pool(os.cpu_count()) as pool:
        pool.map(render, list(enumerate(images)), chunksize=1)
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "images": len(images), "pillow": Image.__version__,
                      "max_rss_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
