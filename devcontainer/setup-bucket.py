"""Creates the pipeline's bucket once the S3 server answers and, when S3_NOTIFY_ARN names a
webhook target (RustFS: arn:rustfs:sqs::primary:webhook), the rule that sends the bucket's
ObjectCreated events under raw/ to it. Safe to run again. Settings from the stage environment.
"""
import os
import sys
import time
from urllib.parse import urlparse

import boto3
import botocore

bucket = urlparse(os.environ["PIPELINE_OBJECT_STORE_URL"]).netloc
s3 = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL_S3"], region_name=os.environ.get("AWS_REGION", "us-east-1"))
deadline = time.time() + 120
while True:
    try:
        try:
            s3.create_bucket(Bucket=bucket)
        except botocore.exceptions.ClientError as error:
            if error.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise
        s3.head_bucket(Bucket=bucket)
        break
    except (botocore.exceptions.ClientError, botocore.exceptions.EndpointConnectionError) as error:
        if time.time() > deadline:
            sys.exit(f"setup: bucket {bucket} could not be created: {error}")
        time.sleep(1)
print(f"setup: bucket {bucket} ready")
arn = os.environ.get("S3_NOTIFY_ARN", "")
if arn:
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={"QueueConfigurations": [{
        "Id": "pipeline-ingest", "QueueArn": arn, "Events": ["s3:ObjectCreated:*"],
        "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "raw/"}]}}}]})
    print(f"setup: ObjectCreated events under raw/ go to {arn}")
