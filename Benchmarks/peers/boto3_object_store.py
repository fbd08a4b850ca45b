"""The same PUT/GET workload as object-store-bench, through boto3 as a Python user would
write it: put_object/get_object on a thread pool for small objects, upload_file and
download_file (s3transfer: multipart, parallel ranged GETs) for large ones.

    python boto3_object_store.py ENDPOINT BUCKET PREFIX WORKDIR     (credentials from AWS_* env)

With BENCH_SERVER_PID, also the server's CPU seconds per phase (`<phase>_server_cpu`).
"""
import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config

endpoint, bucket, prefix, work = sys.argv[1:5]
small_count = int(os.environ.get("BENCH_SMALL_COUNT", "2000"))
large_count = int(os.environ.get("BENCH_LARGE_COUNT", "4"))
large_size = int(os.environ.get("BENCH_LARGE_MIB", "64")) << 20
concurrency = int(os.environ.get("BENCH_CONCURRENCY", "8"))

s3 = boto3.client("s3", endpoint_url=endpoint, config=Config(max_pool_connections=max(10, concurrency)))
transfer = TransferConfig(multipart_threshold=16 << 20, multipart_chunksize=16 << 20, max_concurrency=4)
os.makedirs(os.path.join(work, "get"), exist_ok=True)
small = bytes((i * 31) & 0xFF for i in range(1024))
results = {}


server_pid = os.environ.get("BENCH_SERVER_PID")


def server_cpu():
    if not server_pid:
        return None
    with open(f"/proc/{server_pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


phases = set(os.environ["BENCH_PHASES"].split(",")) if os.environ.get("BENCH_PHASES") else None


def timed(name, body):
    if phases is not None and name not in phases:
        return
    cpu = server_cpu()
    start = time.perf_counter()
    body()
    results[name] = time.perf_counter() - start
    if cpu is not None:
        results[name + "_server_cpu"] = server_cpu() - cpu


def put_small(i):
    s3.put_object(Bucket=bucket, Key=f"{prefix}small/{i}", Body=small)


def get_small(i):
    body = s3.get_object(Bucket=bucket, Key=f"{prefix}small/{i}")["Body"].read()
    with open(os.path.join(work, "get", f"small-{i}"), "wb") as f:
        f.write(body)


with ThreadPoolExecutor(concurrency) as pool:
    timed("small_put", lambda: list(pool.map(put_small, range(small_count))))
    timed("small_get", lambda: list(pool.map(get_small, range(small_count))))

files = []
for i in range(large_count):
    path = os.path.join(work, f"large-{i}.bin")
    with open(path, "wb") as f:
        f.write(os.urandom(large_size))
    files.append(path)
timed("large_put", lambda: [s3.upload_file(p, bucket, f"{prefix}large/{i}", Config=transfer) for i, p in enumerate(files)])
timed("large_get", lambda: [s3.download_file(bucket, f"{prefix}large/{i}", os.path.join(work, "get", f"large-{i}"),
                                             Config=transfer) for i in range(large_count)])
print(json.dumps(results, sort_keys=True))
