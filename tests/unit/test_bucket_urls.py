"""Where the bucket client sends a key: path-style at a custom endpoint, virtual-host style on AWS (as boto3)."""

from __future__ import annotations

from typing import Any

import pytest

from worker.kinds.s3.bucket import Bucket
from worker.kinds.s3.config import S3Config


def bucket(**fields: Any) -> Bucket:
    config = S3Config.model_validate({"name": "x", "bucket_name": "traces", "access_key_id": "a",
                                      "access_secret": "b", **fields})
    return Bucket(config, allow_private=True)


@pytest.mark.parametrize(("fields", "url"), [
    ({"endpoint": "http://127.0.0.1:9000", "region": "us-east-1"}, "http://127.0.0.1:9000/traces/a/b.json"),
    ({"endpoint": "http://127.0.0.1:9000/s3", "region": "us-east-1"}, "http://127.0.0.1:9000/s3/traces/a/b.json"),
    ({"region": "eu-west-1"}, "https://traces.s3.eu-west-1.amazonaws.com/a/b.json"),
    ({}, "https://traces.s3.us-east-1.amazonaws.com/a/b.json"),
    ({"bucket_name": "my.traces", "region": "eu-west-1"}, "https://s3.eu-west-1.amazonaws.com/my.traces/a/b.json"),
])
def test_keys_are_addressed_as_the_destination_says(fields: dict[str, Any], url: str) -> None:
    assert bucket(**fields).url("a/b.json") == url


def test_keys_are_percent_encoded_once_and_slashes_kept() -> None:
    assert bucket(region="eu-west-1").url("prod backend/2024-01-15/gen-1+2.json") == (
        "https://traces.s3.eu-west-1.amazonaws.com/prod%20backend/2024-01-15/gen-1%2B2.json")


def test_the_bucket_itself_for_head_bucket() -> None:
    assert bucket(endpoint="http://127.0.0.1:9000", region="us-east-1").url() == "http://127.0.0.1:9000/traces"
    assert bucket(region="eu-west-1").url() == "https://traces.s3.eu-west-1.amazonaws.com/"
