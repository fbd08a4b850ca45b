#!/usr/bin/env python3
"""A bounded load on pipeline-ingest serve's POST /events, loopback only.

Sends DELIVERIES deliveries from WORKERS threads: S3 bucket notifications of 1 to 3 records
(each a distinct key and ETag), some delivered again (duplicates, as S3 and SNS retry), some
malformed (not JSON, JSON that is no notification, a record without a key), some without the
token. Writes a JSON report: the (key, etag) pairs of every acknowledged (2xx) delivery, and,
for every delivery, what it was, its status and the service's reason, so that the caller can
check each refusal was a 4xx or 503 with a reason and each acknowledged event was queued once.

    webhook_load.py URL TOKEN DELIVERIES WORKERS SEED OUT
"""
import concurrent.futures
import json
import random
import sys
import time
import urllib.error
import urllib.request


def notification(records):
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": "us-east-1",
                "eventTime": "2026-12-07T00:00:00.000Z",
                "eventName": "ObjectCreated:Put",
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "bucket": {"name": "load", "arn": "arn:aws:s3:::load"},
                    "object": {"key": key, "size": 1024, "eTag": etag, "sequencer": "%016X" % seq},
                },
            }
            for key, etag, seq in records
        ]
    }


def plan(deliveries, rng):
    """What to send: (kind, body bytes, records or [], with token)."""
    planned, sent, seq = [], [], 0
    malformed = [
        b"not json at all",
        b'{"Records": "nope"}',
        b'{"Records": [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": "load"}, "object": {}}}]}',
        b"[1, 2, 3]",
        b"",
        b'{"Records": [',
    ]
    for index in range(deliveries):
        roll = rng.random()
        if roll < 0.10:
            planned.append(("malformed", malformed[index % len(malformed)], [], True))
        elif roll < 0.15:
            records = [("raw/load/untokened-%06d.jpg" % index, "u%06d" % index, 0)]
            planned.append(("no-token", json.dumps(notification(records)).encode(), records, False))
        elif roll < 0.30 and sent:
            records = rng.choice(sent)
            planned.append(("duplicate", json.dumps(notification(records)).encode(), records, True))
        else:
            records = []
            for _ in range(rng.randint(1, 3)):
                seq += 1
                records.append(("raw/load/image-%06d.jpg" % seq, "etag-%06d" % seq, seq))
            sent.append(records)
            planned.append(("event", json.dumps(notification(records)).encode(), records, True))
    return planned


def send(url, token, delivery):
    kind, body, records, with_token = delivery
    request = urllib.request.Request(url, data=body, method="POST")
    request.add_header("Content-Type", "application/json")
    if with_token:
        request.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return kind, records, response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return kind, records, error.code, error.read().decode("utf-8", "replace")
    except Exception as error:  # the service went away: a failure the caller must see
        return kind, records, 0, "%s: %s" % (type(error).__name__, error)


def main():
    url, token, deliveries, workers, seed, out = sys.argv[1:7]
    if not (url.startswith("http://127.0.0.1:") or url.startswith("http://localhost:")):
        sys.exit("webhook_load.py sends to loopback only, not %s" % url)
    planned = plan(int(deliveries), random.Random(int(seed)))
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=int(workers)) as pool:
        results = list(pool.map(lambda delivery: send(url, token, delivery), planned))
    seconds = time.monotonic() - started
    acked = sorted({(key, etag) for kind, records, status, _ in results if 200 <= status < 300 for key, etag, _ in records})
    report = {
        "seconds": seconds,
        "deliveries": [{"kind": kind, "status": status, "reason": reason} for kind, _, status, reason in results],
        "acknowledged": [list(pair) for pair in acked],
        "planned_events": sorted({(key, etag) for kind, records, _, _ in results if kind == "event" for key, etag, _ in records}),
    }
    with open(out, "w") as handle:
        json.dump(report, handle)


if __name__ == "__main__":
    main()
