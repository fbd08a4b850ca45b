"""Checks what the containerised loop (scripts/e2e.sh) left, from outside the containers, with
the services' own clients: boto3 for the bucket, MLflow's REST API, the infer container's
/predict, Prometheus's query API; Label Studio's converter and pycocotools judge the review
outputs (through check_review_outputs.py). Exits 1 naming every check that failed.
"""
import argparse
import json
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import boto3

parser = argparse.ArgumentParser()
for name in ("s3", "key", "secret", "bucket", "mlflow", "model", "infer", "prometheus", "batch-output", "work",
             "review-checker"):
    parser.add_argument("--" + name, required=True)
args = parser.parse_args()
failures = []


def check(condition, what):
    print(("ok: " if condition else "FAILED: ") + what, file=sys.stderr)
    if not condition:
        failures.append(what)
    return condition


def get_json(url, data=None, headers=None):
    request = urllib.request.Request(url, data=data, headers=headers or {})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


s3 = boto3.client("s3", endpoint_url=args.s3, region_name="us-east-1", aws_access_key_id=args.key,
                  aws_secret_access_key=args.secret)


def keys(prefix):
    found = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=args.bucket, Prefix=prefix):
        found += [item["Key"] for item in page.get("Contents", [])]
    return found


# Manifests of every stage, and the variants the normalize manifest names.
manifests = [key for key in keys("manifests/") if key.endswith("/manifest.json")]
stages = {}
for key in manifests:
    summary = json.loads(s3.get_object(Bucket=args.bucket, Key=key)["Body"].read())
    stages[summary.get("stage")] = key
check({"ingest", "normalize", "infer"} <= set(stages), f"manifests of ingest, normalize and infer (found {sorted(stages)})")
if "normalize" in stages:
    lines = s3.get_object(Bucket=args.bucket, Key=stages["normalize"][: -len(".json")] + ".jsonl")["Body"].read()
    items = [json.loads(line) for line in lines.splitlines() if line.strip()]
    variant_keys = [v["key"] if isinstance(v, dict) else v for item in items
                    for v in (item.get("variants") or {}).values()]
    missing = [key for key in variant_keys[:40] if not keys(key)]
    check(len(items) > 0 and len(variant_keys) >= len(items) and not missing,
          f"normalize manifest: {len(items)} items, {len(variant_keys)} variants, first 40 in the bucket"
          + (f" (missing {missing[:3]})" if missing else ""))

# MLflow: the version behind the alias, its run, the run's artifacts (kept in the S3 bucket).
alias = get_json(f"{args.mlflow}/api/2.0/mlflow/registered-models/alias?"
                 + urllib.parse.urlencode({"name": args.model, "alias": "approved"}))
version = alias.get("model_version", {})
check(bool(version.get("run_id")), f"{args.model} version {version.get('version')} carries the alias approved")
run = get_json(f"{args.mlflow}/api/2.0/mlflow/runs/get?run_id={version.get('run_id')}")["run"]
check(run["info"]["status"] == "FINISHED", f"MLflow run {run['info']['run_id']} finished")
check(any(m["key"] == "val_accuracy" for m in run["data"].get("metrics", [])), "the run has val_accuracy")
artifacts = get_json(f"{args.mlflow}/api/2.0/mlflow/artifacts/list?run_id={run['info']['run_id']}").get("files", [])
check(len(artifacts) > 0, f"the run lists artifacts ({[a['path'] for a in artifacts]})")
stored = keys("mlflow/")
check(any(run["info"]["run_id"] in key for key in stored), f"the run's artifacts are in s3://{args.bucket}/mlflow/ ({len(stored)} objects)")

# The review outputs of pipeline-infer batch, judged by Label Studio's converter and pycocotools.
outputs = {}
for line in args.batch_output.splitlines():
    name, _, location = line.partition(": ")
    if location.startswith(f"s3://{args.bucket}/"):
        outputs[name.strip()] = location[len(f"s3://{args.bucket}/"):]
wanted = ["label_studio_config", "label_studio_tasks", "coco_images", "coco_results"]
if check(all(name in outputs for name in wanted), f"batch inference printed its outputs ({sorted(outputs)})"):
    paths = []
    for name in wanted:
        path = f"{args.work}/{name}"
        s3.download_file(args.bucket, outputs[name], path)
        paths.append(path)
    judged = subprocess.run([sys.executable, args.review_checker, *paths, args.work], capture_output=True, text=True)
    verdict = json.loads(judged.stdout.strip().splitlines()[-1]) if judged.returncode == 0 else {}
    check(verdict.get("label_studio_images", 0) > 0 and verdict.get("coco_images", 0) > 0
          and verdict.get("coco_results", 0) > 0, f"Label Studio and COCO outputs load: {verdict or judged.stderr[-400:]}")

# /predict on the served model, with an image from the bucket.
image = next(iter(keys("raw/shapes/")), None)
body = s3.get_object(Bucket=args.bucket, Key=image)["Body"].read() if image else b""
answer = get_json(f"{args.infer}/predict", data=body, headers={"Content-Type": "image/png"})
check(bool(answer.get("predictions")), f"/predict answers: {json.dumps(answer)[:200]}")
# and with the key of an object, which the infer container stages from the bucket.
named = get_json(f"{args.infer}/predict", data=json.dumps({"key": image}).encode(),
                 headers={"Content-Type": "application/json"})
check(named.get("predictions") == answer.get("predictions"), f"/predict by key answers the same: {json.dumps(named)[:200]}")

# Prometheus scrapes the infer container: predictions counted, bytes staged.
def query(expression):
    result = get_json(f"{args.prometheus}/api/v1/query?" + urllib.parse.urlencode({"query": expression}))
    return [float(sample["value"][1]) for sample in result["data"]["result"]]


deadline = time.time() + 60
predictions = staged = []
while time.time() < deadline:
    predictions = query("pipeline_infer_predictions_total")
    staged = query('pipeline_staging_bytes_total{stage="infer"}')
    if sum(predictions) > 0 and sum(staged) > 0:
        break
    time.sleep(2)
check(sum(predictions) > 0, f"Prometheus answers pipeline_infer_predictions_total = {predictions}")
check(sum(staged) > 0, f"the infer container staged bytes through /mnt/nvme: pipeline_staging_bytes_total = {staged}")

if failures:
    print(f"{len(failures)} checks failed", file=sys.stderr)
    sys.exit(1)
