"""The S3 connection test: one small write with delivery's own client settings, within ``DEADLINE`` seconds.

It writes through bucket.py, as per-trace delivery does, and turns what happened into one of the codes docs/s3.md
lists, with a message a person can act on. The API runs it before saving a destination; the probe of a
parked destination runs the same test.
"""

from __future__ import annotations

import contextlib
import time
import uuid

import orjson

from worker import eventloop
from worker.errors import DeliveryError, DestinationError, TransientError
from worker.kinds.s3.bucket import Bucket, unanswered
from worker.kinds.s3.config import S3Config

DEADLINE = 9.0
"""Seconds the connection test may take in all; the API answers within this bound."""
DELETE_RESERVE = 2.0
"""Seconds of DEADLINE kept for deleting the test object, so a slow write still leaves time to clean up; the write
gets the rest (7 s)."""
CODES = frozenset(
    {"invalid_access_key", "signature_mismatch", "access_denied", "no_such_bucket", "wrong_region",
     "endpoint_unreachable", "timeout", "endpoint_forbidden", "incompatible_endpoint"}
)
"""The codes a connection test answers with (docs/s3.md: Connection test)."""


def key_for(prefix: str) -> str:
    """``<prefix>/.tracedrop-connection-test-<uuid>.json``, at the bucket's root when the prefix is empty."""
    name = f".tracedrop-connection-test-{uuid.uuid4()}.json"
    return f"{prefix}/{name}" if prefix else name


def as_test_failure(error: DeliveryError) -> DeliveryError:
    """The same failure, under one of the connection test's CODES."""
    if error.code in CODES:
        return error
    if error.code == "store_unavailable":
        return TransientError(error.message, code="endpoint_unreachable", key=error.key)
    if error.code == "trace_rejected":
        return DestinationError(f"The store refused a tiny test object. {error.message} Check that the endpoint is "
                                "S3-compatible.", code="incompatible_endpoint", key=error.key)
    return DestinationError(error.message, code="incompatible_endpoint", key=error.key)


def denied(bucket: str, prefix: str, *, exists: bool | None) -> DestinationError:
    """AccessDenied on the test write, told apart by whether the store says the bucket exists."""
    grant = f"grant s3:PutObject on arn:aws:s3:::{bucket}/{prefix + '/' if prefix else ''}*"
    if exists is False:
        return DestinationError(f"The bucket {bucket!r} does not exist at this endpoint (the write was refused and "
                                "HeadBucket answers 404): create it or fix bucket_name.", code="no_such_bucket")
    if exists:
        return DestinationError(f"The bucket {bucket!r} exists, but these credentials may not write to it: {grant}.",
                                code="access_denied")
    return DestinationError(
        f"The store refused the write (AccessDenied) and will not tell these credentials whether bucket {bucket!r} "
        f"exists: either it does not (create it or fix bucket_name) or the credentials may not write to it "
        f"({grant}). Allowing s3:ListBucket on the bucket lets the test tell which.", code="access_denied")


async def _test_write(bucket: Bucket, prefix: str, key: str) -> None:
    body = orjson.dumps({"tracedrop": "connection test", "bucket": bucket.name})
    try:
        await bucket.put(key, body)
    except DestinationError as error:
        if error.code != "access_denied":
            raise
        raise denied(bucket.name, prefix, exists=await bucket.exists()) from error


def connection_test(config: S3Config, *, allow_private: bool,
                    deadline: float = DEADLINE) -> str:
    """Write one small object with delivery's client settings, then try to delete it; return its key.

    Raise a DeliveryError whose code is one of ``CODES``, within ``deadline`` seconds whatever the endpoint does.
    The write gets ``deadline`` less DELETE_RESERVE; the delete (writing needs only s3:PutObject) gets what is
    left, also after a write that got no answer in time, since the store may have taken the object all the same.
    """
    key = key_for(config.prefix)
    loop = eventloop.shared()
    finish = time.monotonic() + deadline
    write_within = max(deadline - DELETE_RESERVE, deadline / 2)
    try:
        bucket = Bucket(config, allow_private=allow_private)
    except DeliveryError as error:
        raise as_test_failure(error) from None

    def delete() -> None:
        with contextlib.suppress(TimeoutError):
            loop.run(bucket.delete_quietly(key), timeout=max(0.0, finish - time.monotonic()))

    try:
        loop.run(_test_write(bucket, config.prefix, key), timeout=write_within)
    except DeliveryError as error:
        if unanswered(error):
            delete()
        raise as_test_failure(error) from None
    except TimeoutError:
        delete()
        raise TransientError(f"The endpoint did not complete a small write within {write_within:.0f} s: check "
                             "that it is an S3 API and that it is not overloaded.", code="timeout") from None
    delete()
    return key
