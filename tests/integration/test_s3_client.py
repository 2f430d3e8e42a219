"""The client delivery uses, against the suite's real SeaweedFS: what it sends on the wire."""

from __future__ import annotations

from typing import Any

from tests import stack
from worker.kinds.s3 import client as access
from worker.kinds.s3.config import S3Config


def test_small_writes_skip_expect_continue_and_large_ones_keep_it(s3: stack.SeaweedFS, bucket: str) -> None:
    client = access.build_client(S3Config.model_validate(stack.s3_body(s3, bucket)), allow_private=True)
    sent: dict[str, Any] = {}

    def observe(request: Any, **_: Any) -> None:
        sent[request.url.rsplit("/", 1)[-1]] = request.headers.get("Expect")

    client.meta.events.register("before-send.s3", observe)
    large = b"x" * (access.EXPECT_CONTINUE_BYTES + 1)
    for key, body in (("small", b"{}"), ("large", large)):
        access.put_object(client, bucket=bucket, key=key, body=body, content_type="application/json")

    assert sent == {"small": None, "large": b"100-continue"}
    assert s3.client().get_object(Bucket=bucket, Key="small")["Body"].read() == b"{}"
    assert s3.client().get_object(Bucket=bucket, Key="large")["Body"].read() == large
