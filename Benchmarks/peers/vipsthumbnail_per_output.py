"""The peer for normalize: vipsthumbnail run once per output (3 sizes x JPEG and WebP),
one process per core at a time, as a shell loop with xargs -P would.

    vipsthumbnail_per_output.py OUTPUT_DIR IMAGE...    prints {"seconds", "images", "max_rss_kib"}
"""
import json
import os
import resource
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

out, images = sys.argv[1], sys.argv[2:]
jobs = []
for index, image in enumerate(images):
    for fmt, options in (("jpg", "[Q=85,strip]"), ("webp", "[Q=85,strip]")):
        jobs.append([image, "--size", "1024", "-o", f"{out}/{index}-1024.{fmt}{options}"])
        jobs.append([image, "--size", "512", "-o", f"{out}/{index}-512.{fmt}{options}"])
        jobs.append([image, "--size", "256x256", "--smartcrop", "centre", "-o", f"{out}/{index}-256.{fmt}{options}"])
start = time.perf_counter()
with ThreadPoolExecutor(os.cpu_count()) as pool:
    for result in pool.map(lambda args: subprocess.run(["vipsthumbnail", *args], check=True), jobs):
        pass
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "images": len(images),
                  "max_rss_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
