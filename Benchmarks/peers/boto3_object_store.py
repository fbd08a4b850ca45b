"""The object-store-bench workload through boto3 as a Python user would write it, with boto3's
default settings: put_object/get_object on a thread pool for small objects (one at a time for
the _c1 phases, BENCH_CONCURRENCY at a time otherwise, with max_pool_connections to match),
upload_file and download_file with no TransferConfig for large ones (s3transfer: 8 MiB
threshold and parts, 10 threads, a HEAD then ranged GETs). boto3's default checksums apply
(CRC32 sent on PUT, checked on GET when the object has one).

    python boto3_object_store.py ENDPOINT BUCKET PREFIX WORKDIR     (credentials from AWS_* env)

Prints one JSON object; the phases and keys are in object_store_common.py.
"""
import sys

import boto3
from boto3.s3.transfer import TransferConfig, create_transfer_manager
from botocore.config import Config
from s3transfer.manager import TransferManager

from object_store_common import SMALL, Harness

bench = Harness(sys.argv)
s3 = boto3.client("s3", endpoint_url=bench.endpoint, region_name=bench.region,
                  config=Config(max_pool_connections=max(10, bench.concurrency)))

# upload_file/download_file without Config use TransferConfig(), whose preferred_transfer_client
# is "auto": the CRT on instance types awscrt is tuned for, s3transfer's threads elsewhere. This
# peer is the classic path; if boto3 would pick the CRT here, crt_object_store.py is that row.
manager = create_transfer_manager(s3, TransferConfig())
if type(manager) is not TransferManager:
    sys.exit(f"boto3 peer: boto3's default transfer manager here is {type(manager).__name__}, not s3transfer's")
manager.shutdown()


def put_small(concurrent, indices):
    def put(i):
        s3.put_object(Bucket=bench.bucket, Key=bench.small_key(concurrent, i), Body=SMALL)
    bench.each(concurrent, put, indices)


def get_small(concurrent, indices):
    def get(i):
        body = s3.get_object(Bucket=bench.bucket, Key=bench.small_key(concurrent, i))["Body"].read()
        with open(bench.small_target(concurrent, i), "wb") as f:
            f.write(body)
    bench.each(concurrent, get, indices)


class Client:
    put_small = staticmethod(put_small)
    get_small = staticmethod(get_small)

    @staticmethod
    def put_files(uploads):
        for path, key in uploads:
            s3.upload_file(path, bench.bucket, key)

    @staticmethod
    def get_files(downloads):
        for key, path in downloads:
            s3.download_file(bench.bucket, key, path)


bench.run(Client)
