"""The pyvips peers for normalize, and the floor, on the benchmark's six outputs (1024 and 512
contained, 256x256 centre-cropped; JPEG and WebP at quality 85, metadata stripped). One process
per core, each with one libvips thread, as the pipeline runs one image per core.

    pyvips_variants.py MODE OUTPUT_DIR IMAGE...    prints {"seconds", "images", "max_rss_kib", "libvips"}

MODE:
  thumbnail  `pyvips.Image.thumbnail` once per output file: shrink-on-load each time (what the
             libvips documentation recommends for one output);
  cascade    one decode: a thumbnail to 1024, then 512 and 256x256 from it in memory;
  floor      what no resizer can go below: the shrink-on-load decode (the same DCT scale a 1024
             output allows) and the six encodes of outputs of the same sizes, with no resampling
             (crops of the decoded image instead).
"""
import json
import os
import resource
import sys
import time
from multiprocessing import Pool

MODE, OUT, IMAGES = sys.argv[1], sys.argv[2], sys.argv[3:]
SAVE = {"jpg": "[Q=85,strip]", "webp": "[Q=85,strip]"}


def init():
    os.environ["VIPS_CONCURRENCY"] = "1"
    import pyvips  # noqa: F401 (imported in the worker, after VIPS_CONCURRENCY)
    pyvips.cache_set_max(0)


def save(image, index, size):
    for ext, options in SAVE.items():
        image.write_to_file(f"{OUT}/{index}-{size}.{ext}{options}")


def render(job):
    import pyvips
    index, path = job
    if MODE == "thumbnail":
        for ext, options in SAVE.items():
            for size in (1024, 512):
                pyvips.Image.thumbnail(path, size).write_to_file(f"{OUT}/{index}-{size}.{ext}{options}")
            pyvips.Image.thumbnail(path, 256, height=256, crop="centre").write_to_file(
                f"{OUT}/{index}-256.{ext}{options}")
    elif MODE == "cascade":
        large = pyvips.Image.thumbnail(path, 1024).copy_memory()
        save(large, index, 1024)
        save(large.thumbnail_image(512), index, 512)
        save(large.thumbnail_image(256, height=256, crop="centre"), index, 256)
    elif MODE == "floor":
        header = pyvips.Image.new_from_file(path)
        longest = max(header.width, header.height)
        shrink = 1
        while shrink < 8 and longest // (shrink * 2) >= 1024:
            shrink *= 2
        options = {"shrink": shrink} if header.get("vips-loader").startswith("jpeg") else {}
        decoded = pyvips.Image.new_from_file(path, access="sequential", **options).autorot().copy_memory()
        scale = 1024 / max(decoded.width, decoded.height)
        for size in (1024, 512):
            width = min(decoded.width, max(1, round(decoded.width * scale * size / 1024)))
            height = min(decoded.height, max(1, round(decoded.height * scale * size / 1024)))
            save(decoded.crop(0, 0, width, height), index, size)
        save(decoded.crop(0, 0, min(256, decoded.width), min(256, decoded.height)), index, 256)
    else:
        raise SystemExit(f"pyvips_variants.py: unknown mode {MODE} (thumbnail, cascade, floor)")


if __name__ == "__main__":
    start = time.perf_counter()
    with Pool(os.cpu_count(), initializer=init) as pool:
        pool.map(render, list(enumerate(IMAGES)), chunksize=1)
    seconds = time.perf_counter() - start
    import pyvips
    print(json.dumps({"seconds": seconds, "images": len(IMAGES), "libvips": pyvips.version_string()
                      if hasattr(pyvips, "version_string") else "%d.%d" % (pyvips.version(0), pyvips.version(1)),
                      "max_rss_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
