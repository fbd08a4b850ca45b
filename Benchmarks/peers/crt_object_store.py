"""The object-store-bench workload through the AWS Common Runtime's S3 client (awscrt), as
boto3[crt] drives it: s3transfer.crt's CRTTransferManager over awscrt.s3.S3Client, requests
serialized by botocore, with the TransferConfig boto3 passes for
TransferConfig(preferred_transfer_client="crt") (8 MiB multipart threshold, part size left to
the CRT (8 MiB here); CRC32 trailing checksum on PUT, checksums validated on GET).

boto3's own CRT path (upload_file with that TransferConfig) builds its S3Client with TLS always
on and takes the endpoint only from the environment: against an http:// endpoint it fails with
AWS_IO_SOCKET_CLOSED. So this peer builds the same objects itself, as boto3/crt.py does, with
TLS off for an http:// endpoint and the endpoint given to the serializer.

One setting differs from boto3's: at most BENCH_CRT_CONCURRENCY (10, boto3's own default
max_concurrency) connections a transfer, TransferConfig(max_concurrency=...) as a boto3 user
sets it. Left to itself (BENCH_CRT_CONCURRENCY=0) the CRT opens about 25 connections here,
for its 10 Gbit/s default throughput target; SeaweedFS on two cores then answers some
UploadPart requests later than the CRT's adaptive first-byte timeout (1 s at first, raised a
step at a time while too many expire), those parts are sent again, the PUT takes longer and costs the server more, and now
and then the upload fails with AWS_ERROR_HTTP_RESPONSE_FIRST_BYTE_TIMEOUT.

Small objects go through the same CRTTransferManager (upload from memory, download to a file),
one at a time for the _c1 phases, BENCH_CONCURRENCY transfers in flight otherwise.

    python crt_object_store.py ENDPOINT BUCKET PREFIX WORKDIR     (credentials from AWS_* env)

Prints one JSON object; the phases and keys are in object_store_common.py.
"""
import io
import os
import sys

import awscrt
import awscrt.s3
import botocore.session
from boto3.s3.transfer import TransferConfig
from s3transfer.crt import (
    BotocoreCRTCredentialsWrapper,
    BotocoreCRTRequestSerializer,
    CRTTransferManager,
    create_s3_crt_client,
)

from object_store_common import SMALL, Harness

bench = Harness(sys.argv)
session = botocore.session.Session()
credentials = session.get_credentials()
if credentials is None:
    sys.exit("crt peer: no credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)")
crt_client = create_s3_crt_client(
    region=bench.region,
    crt_credentials_provider=BotocoreCRTCredentialsWrapper(credentials).to_crt_credentials_provider(),
    use_ssl=bench.endpoint.startswith("https://"))
serializer = BotocoreCRTRequestSerializer(session, {"region_name": bench.region, "endpoint_url": bench.endpoint})
connections = int(os.environ.get("BENCH_CRT_CONCURRENCY", "10"))
config = TransferConfig(preferred_transfer_client="crt", **({"max_concurrency": connections} if connections else {}))
manager = CRTTransferManager(crt_client, serializer, config=config)
if not isinstance(crt_client, awscrt.s3.S3Client):
    sys.exit(f"crt peer: the transfer client is {type(crt_client).__name__}, not awscrt.s3.S3Client")
print(f"crt peer: awscrt {awscrt.__version__}, {type(manager).__module__}.{type(manager).__name__} over "
      f"awscrt.s3.S3Client, TLS {'on' if bench.endpoint.startswith('https://') else 'off'}, "
      f"{connections or 'CRT-chosen'} connections a transfer", file=sys.stderr)


def finish(future):
    """The transfer's result, once its done callbacks have run too: the CRT future completes
    before them, and a download's file is renamed into place in one (boto3's download_file
    waits for that as it shuts its CRTTransferManager down)."""
    future.result()
    future._coordinator.wait_until_on_done_callbacks_complete()


class Client:
    @staticmethod
    def put_small(concurrent, indices):
        bench.each(concurrent, lambda i: finish(manager.upload(io.BytesIO(SMALL), bench.bucket, bench.small_key(concurrent, i))),
             indices)

    @staticmethod
    def get_small(concurrent, indices):
        bench.each(concurrent, lambda i: finish(manager.download(bench.bucket, bench.small_key(concurrent, i),
                                                            bench.small_target(concurrent, i))), indices)

    @staticmethod
    def put_files(uploads):
        for path, key in uploads:
            finish(manager.upload(path, bench.bucket, key))

    @staticmethod
    def get_files(downloads):
        for key, path in downloads:
            finish(manager.download(bench.bucket, key, path))


try:
    bench.run(Client)
finally:
    manager.shutdown()
