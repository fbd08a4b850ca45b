"""Signs generated S3 requests with botocore's own SigV4 signer, as the judge for the Swift signer.

Prints JSON: a list of cases, each with the request (method, url, the headers botocore
signed), botocore's Authorization header and a presigned GET URL, all at one fixed time.

    python botocore_sign.py [COUNT] [SEED]
"""
import datetime
import json
import random
import sys
from unittest import mock
from urllib.parse import quote

import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

COUNT = int(sys.argv[1]) if len(sys.argv) > 1 else 300
SEED = int(sys.argv[2]) if len(sys.argv) > 2 else 1234
NOW = datetime.datetime(2026, 11, 22, 3, 4, 5, tzinfo=datetime.timezone.utc)

PIECES = ["photo", "a b", "plus+sign", "100%", "tilde~x", "ünï", "日本", "emoji🖼", "semi;colon", "q?x", "eq=x",
          "amp&x", "", "dots..", "(paren)", "star*", "comma,", "quote'", "at@", "hash#", "dollar$", "tab\tx"]
QUERY_VALUES = ["", "a b", "x+y", "100%", "~", "ünï", "a/b", "=", "&"]


def key(rng):
    parts = [rng.choice(PIECES) for _ in range(rng.randint(1, 4))]
    text = "/".join(parts)
    if rng.random() < 0.2:
        text = text.replace("/", "//", 1)
    return text or "k"


def case(rng, index):
    bucket = rng.choice(["pipeline-test", "raw.images", "b-1"])
    object_key = key(rng)
    path = "/" + bucket + "/" + quote(object_key, safe="/~")
    query_pairs = []
    # Real S3 requests never repeat a parameter (botocore's presigner keeps only one of each).
    names = ["prefix", "start-after", "list-type", "x-id", "partNumber", "uploadId", "max-keys"]
    for name in rng.sample(names, rng.randint(0, 3)):
        value = rng.choice(QUERY_VALUES)
        query_pairs.append(quote(name, safe="-_.~") + "=" + quote(value, safe="-_.~"))
    if rng.random() < 0.1:
        query_pairs.append("uploads")
    url = "http://127.0.0.1:9000" + path + ("?" + "&".join(query_pairs) if query_pairs else "")
    method = rng.choice(["GET", "PUT", "HEAD", "DELETE", "POST"])
    body = b"" if method in ("GET", "HEAD", "DELETE") else rng.randbytes(rng.randint(0, 64))
    headers = {}
    if rng.random() < 0.5:
        headers["Content-Type"] = rng.choice(["image/jpeg", "application/json; charset=utf-8"])
    if rng.random() < 0.4:
        headers["x-amz-meta-Note"] = rng.choice(["  padded  value ", "two  spaces", "ünï", "a,b"])
    if rng.random() < 0.3:
        headers["Range"] = "bytes=0-%d" % rng.randint(1, 100)
    token = "FwoGZXIvYXdzE" + "x" * rng.randint(0, 20) if rng.random() < 0.3 else None
    credentials = Credentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", token)
    region = rng.choice(["us-east-1", "eu-west-1"])

    request = AWSRequest(method=method, url=url, headers=dict(headers), data=body)
    botocore.auth.S3SigV4Auth(credentials, "s3", region).add_auth(request)
    signed_names = request.headers["Authorization"].split("SignedHeaders=")[1].split(",")[0].split(";")
    signed = [[name, request.headers[name]] for name in request.headers.keys() if name.lower() in signed_names]
    if "host" in signed_names and not any(name.lower() == "host" for name, _ in signed):
        signed.append(["Host", "127.0.0.1:9000"])

    presign_request = AWSRequest(method="GET", url=url)
    botocore.auth.S3SigV4QueryAuth(credentials, "s3", region, expires=3600).add_auth(presign_request)
    return {
        "index": index, "method": method, "url": url, "region": region, "token": token,
        "payload_hash": request.headers["X-Amz-Content-SHA256"], "headers": signed,
        "authorization": request.headers["Authorization"], "presigned_url": presign_request.url,
    }


def main():
    rng = random.Random(SEED)
    with mock.patch("botocore.auth.get_current_datetime", return_value=NOW):
        cases = [case(rng, i) for i in range(COUNT)]
    json.dump({"timestamp": NOW.strftime("%Y-%m-%dT%H:%M:%SZ"), "cases": cases}, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
