"""Real S3 -> SNS -> HTTP delivery from moto, for the ingest webhook tests.

Creates a bucket whose ObjectCreated events go to an SNS topic with an HTTP subscription to
the given endpoint, then uploads files; moto publishes each event to the endpoint as SNS does.

    s3_sns_notify.py ENDPOINT REGION KEY_ID SECRET BUCKET WEBHOOK_URL KEY=PATH...

Prints one JSON line: {"topic": ..., "uploaded": [{"key", "etag"}]}.
"""
import json
import sys

import boto3

endpoint, region, key_id, secret, bucket, webhook = sys.argv[1:7]
files = [arg.split("=", 1) for arg in sys.argv[7:]]
session = boto3.session.Session(aws_access_key_id=key_id, aws_secret_access_key=secret, region_name=region)
s3 = session.client("s3", endpoint_url=endpoint)
sns = session.client("sns", endpoint_url=endpoint)

s3.create_bucket(Bucket=bucket)
topic = sns.create_topic(Name=f"{bucket}-events")["TopicArn"]
sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=webhook)
s3.put_bucket_notification_configuration(
    Bucket=bucket,
    NotificationConfiguration={
        "TopicConfigurations": [{"TopicArn": topic, "Events": ["s3:ObjectCreated:*"]}]
    },
)
uploaded = []
for key, path in files:
    with open(path, "rb") as body:
        response = s3.put_object(Bucket=bucket, Key=key, Body=body)
    uploaded.append({"key": key, "etag": response["ETag"].strip('"')})
print(json.dumps({"topic": topic, "uploaded": uploaded}))
