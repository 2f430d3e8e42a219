"""The only module that talks to boto3: batch files (PutObject) and ``tracedrop read`` (GetObject).

Per-trace delivery and the connection test send through bucket.py (aiohttp) with the same timeouts, addressing,
TLS verification and error mapping. Batch files stay here: one PUT per file every cycle, where boto3's per-request
cost does not matter.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import boto3
from botocore.client import BaseClient
from botocore.config import Config
from botocore.exceptions import NoCredentialsError
from botocore.handlers import add_expect_header
from botocore.utils import determine_content_length

from worker import egress
from worker.egress import CONNECT_TIMEOUT, READ_TIMEOUT
from worker.errors import DestinationError
from worker.kinds.s3.bucket import EXPECT_CONTINUE_BYTES
from worker.kinds.s3.config import S3Config
from worker.kinds.s3.errors import classify
from worker.ssrf import check_endpoint

MAX_POOL = 64


def client_config(endpoint: str | None) -> Config:
    options: dict[str, Any] = {
        "signature_version": "s3v4",
        "connect_timeout": CONNECT_TIMEOUT,
        "read_timeout": READ_TIMEOUT,
        "retries": {"total_max_attempts": 1, "mode": "standard"},
        "max_pool_connections": MAX_POOL,
    }
    if endpoint:
        options["request_checksum_calculation"] = "when_required"
        options["response_checksum_validation"] = "when_required"
        options["s3"] = {"addressing_style": "path"}
    return Config(**options)


def _no_region_redirect(context: dict[str, Any], **_: Any) -> None:
    """A custom endpoint's wrong region is reported (``wrong_region``), never silently followed."""
    redirect = context.get("s3_redirect")
    if isinstance(redirect, dict):
        redirect["redirected"] = True


def _expect_continue_for_large_bodies(model: Any, params: dict[str, Any], **_: Any) -> None:
    """``Expect: 100-continue`` only where it pays: botocore sends it with every PutObject, which costs each small
    write a second exchange with the store; a large body still waits to hear that the request will be taken."""
    body = params.get("body")
    if model.http.get("method") in ("PUT", "POST") and body is not None \
            and determine_content_length(body) > EXPECT_CONTINUE_BYTES:
        params["headers"]["Expect"] = "100-continue"


def build_client(config: S3Config, *, allow_private: bool) -> BaseClient:
    """A client with the settings delivery uses; the endpoint is checked now and at every connection it opens."""
    if config.endpoint:
        check_endpoint(config.endpoint, allow_private=allow_private)
    client = _new_client(
        region_name=config.region or "us-east-1",
        endpoint_url=config.endpoint,
        config=client_config(config.endpoint),
        aws_access_key_id=config.access_key_id,
        aws_secret_access_key=config.access_secret.get_secret_value(),
        aws_session_token=config.session_token.get_secret_value() if config.session_token else None,
    )
    egress.install(client, allow_private=allow_private)
    client.meta.events.unregister("before-call.s3", add_expect_header)
    client.meta.events.register("before-call.s3", _expect_continue_for_large_bodies)
    if config.endpoint:
        client.meta.events.register("before-call.s3", _no_region_redirect)
    return client


_sessions: dict[int, tuple[boto3.session.Session, threading.Lock]] = {}


def _new_client(**settings: Any) -> BaseClient:
    """An S3 client from this process's one boto3 session, which loads and parses the S3 service model once.

    A session per client re-parsed the model each time, and every rebuild (each CLIENT_TTL) left memory behind.
    Credentials are the client's own, never the session's. Sessions are not thread-safe: clients are made one at
    a time, and a forked process makes its own session."""
    session, lock = _sessions.get(os.getpid()) or _sessions.setdefault(
        os.getpid(), (boto3.session.Session(), threading.Lock()))
    with lock:
        return session.client("s3", **settings)


def put_object(client: BaseClient, *, bucket: str, key: str, body: bytes, content_type: str) -> None:
    try:
        response = client.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type)
    except Exception as exc:
        raise classify(exc, key=key) from exc
    if "ETag" not in response:
        raise DestinationError("The endpoint accepted the write without an ETag, not like an S3 API: check the "
                               "endpoint URL.", code="incompatible_endpoint", key=key)


def read_url(source: str, *, endpoint: str | None) -> bytes:
    """The object ``s3://bucket/key`` names, for ``tracedrop read``."""
    bucket, _, key = source.removeprefix("s3://").partition("/")
    if not bucket or not key:
        raise ValueError(f"{source!r}: expected s3://bucket/key")
    return read_object(bucket, key, endpoint=endpoint)


def read_object(bucket: str, key: str, *, endpoint: str | None) -> bytes:
    """GET one object with the usual AWS credential chain (``AWS_ACCESS_KEY_ID`` ...); for ``tracedrop read``."""
    session = boto3.session.Session()
    try:
        client = session.client("s3", endpoint_url=endpoint, region_name=session.region_name or "us-east-1",
                                config=client_config(endpoint))
        return bytes(client.get_object(Bucket=bucket, Key=key)["Body"].read())
    except NoCredentialsError as exc:
        raise DestinationError("no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
                               code="invalid_access_key", key=key) from exc
    except Exception as exc:
        raise classify(exc, key=key) from exc
