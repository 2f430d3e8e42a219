"""The only module that talks to boto3: client settings, PutObject, the connection test, error mapping."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

import boto3
import orjson
from botocore.client import BaseClient
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    HTTPClientError,
    NoCredentialsError,
    ReadTimeoutError,
    SSLError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError
from botocore.handlers import add_expect_header
from botocore.utils import determine_content_length
from urllib3.exceptions import NameResolutionError

from worker import egress
from worker.destination import DestinationConfig
from worker.errors import DeliveryError, DestinationError, EndpointForbidden, TraceRejected, TransientError
from worker.ssrf import check_endpoint

CONNECT_TIMEOUT = 3
READ_TIMEOUT = 6
CLIENT_TTL = 60.0
"""Seconds a client is reused before it is rebuilt (each new connection it opens is checked regardless)."""
MAX_POOL = 64
EXPECT_CONTINUE_BYTES = 1024 * 1024
"""Bodies larger than this are sent only after the store answered ``100 Continue``."""

_TRANSIENT_CODES = frozenset(
    {"SlowDown", "RequestTimeout", "ServiceUnavailable", "InternalError", "Throttling", "ThrottlingException",
     "RequestTimeTooSkewed", "OperationAborted", "TooManyRequests", "503", "500", "502", "504", "429"}
)
_DESTINATION_CODES = {
    "InvalidAccessKeyId": "invalid_access_key",
    "InvalidToken": "invalid_access_key",
    "ExpiredToken": "invalid_access_key",
    "TokenRefreshRequired": "invalid_access_key",
    "SignatureDoesNotMatch": "signature_mismatch",
    "AccessDenied": "access_denied",
    "AllAccessDisabled": "access_denied",
    "AccountProblem": "access_denied",
    "NoSuchBucket": "no_such_bucket",
}
_REGION_CODES = frozenset(
    {"PermanentRedirect", "AuthorizationHeaderMalformed", "IllegalLocationConstraintException", "InvalidRegion",
     "TemporaryRedirect"}
)
_TRACE_CODES = frozenset({"EntityTooLarge", "KeyTooLongError", "InvalidObjectName", "MetadataTooLarge"})
_HINTS = {
    "invalid_access_key": "The store does not know this access key ID: check access_key_id (and session_token).",
    "signature_mismatch": "The store rejected the signature: check access_secret for this access key ID.",
    "access_denied": "The credentials may not write here: grant s3:PutObject on the bucket (and prefix).",
    "no_such_bucket": "The bucket does not exist at this endpoint: create it or fix bucket_name.",
}


def _from_response(exc: ClientError, key: str | None) -> DeliveryError:
    error = exc.response.get("Error", {})
    meta = exc.response.get("ResponseMetadata", {})
    code, status = str(error.get("Code", "")), int(meta.get("HTTPStatusCode", 0))
    headers = {k.lower(): v for k, v in meta.get("HTTPHeaders", {}).items()}
    detail = f"{code or status}: {error.get('Message') or 'no message'}"
    if code in _REGION_CODES or (status in (301, 307) and "x-amz-bucket-region" in headers):
        region = error.get("Region") or headers.get("x-amz-bucket-region")
        where = f"set region to {region!r}" if region else "fix region (or the endpoint)"
        return DestinationError(f"The bucket lives in another region: {where}. ({detail})", code="wrong_region",
                                key=key)
    if code in _DESTINATION_CODES:
        mapped = _DESTINATION_CODES[code]
        return DestinationError(f"{_HINTS[mapped]} ({detail})", code=mapped, key=key)
    if code in _TRACE_CODES:
        return TraceRejected(f"The store refused this object for good ({detail}).", code="trace_rejected", key=key)
    if code in _TRANSIENT_CODES or status >= 500 or status == 429:
        return TransientError(f"The store is unavailable ({detail}): try again later; if it lasts, check the store.",
                              code="store_unavailable", key=key)
    if 300 <= status < 400:
        return DestinationError(
            f"The endpoint answered with a redirect (HTTP {status} to {headers.get('location', 'nowhere')}); "
            "tracedrop never follows redirects: use the S3 API's own URL as the endpoint.",
            code="incompatible_endpoint", key=key)
    if status in (401, 403) and (code.isdigit() or not code):
        return DestinationError(
            f"The endpoint refused the request with HTTP {status} and no S3 error: check the credentials, and any "
            "proxy or firewall in front of the store.", code="access_denied", key=key)
    if code.isdigit() or not code:
        return DestinationError(
            f"The endpoint answered HTTP {status}, not like an S3 API: check the endpoint URL (the S3 API, not a "
            "web console or website).", code="incompatible_endpoint", key=key)
    return DestinationError(
        f"The store refused the request ({detail}): check that the endpoint is S3-compatible and that the bucket "
        "accepts a plain PutObject (no required encryption or object-lock headers).", code="store_refused", key=key)


def classify(exc: Exception, *, key: str | None = None) -> DeliveryError:
    """Translate a boto3/botocore exception into the project's error tree: the one place that does it."""
    if isinstance(exc, DeliveryError):
        return exc
    if isinstance(exc, HTTPClientError) and isinstance(exc.kwargs.get("error"), DeliveryError):
        return exc.kwargs["error"]  # type: ignore[no-any-return]
    if isinstance(exc, ClientError):
        return _from_response(exc, key)
    if isinstance(exc, ConnectTimeoutError):
        return TransientError(f"Nothing accepted a connection at the endpoint within {CONNECT_TIMEOUT} s: check the "
                              "host, the port and any firewall in between.", code="timeout", key=key)
    if isinstance(exc, ReadTimeoutError):
        return TransientError(f"The endpoint accepted the connection but did not answer within {READ_TIMEOUT} s: "
                              "check that the URL points at an S3 API and that the store is not overloaded.",
                              code="timeout", key=key)
    if isinstance(exc, SSLError):
        return DestinationError(f"Could not open a TLS connection to the endpoint ({exc.kwargs.get('error')}): check "
                                "that it serves https on that port, with a certificate valid for its host name.",
                                code="endpoint_unreachable", key=key)
    if isinstance(exc, EndpointConnectionError) and isinstance(exc.kwargs.get("error"),
                                                               NameResolutionError | socket.gaierror):
        return TransientError("The endpoint's host name does not resolve: check the endpoint URL.",
                              code="endpoint_unreachable", key=key)
    if isinstance(exc, BotoConnectionError):
        return TransientError("Nothing accepts connections at the endpoint: check the URL, the port and any "
                              f"firewall in between. ({type(exc).__name__})", code="endpoint_unreachable", key=key)
    if isinstance(exc, ConnectionClosedError | HTTPClientError):
        return TransientError("The endpoint closed the connection without an HTTP answer: check the URL (http vs "
                              f"https, port). ({type(exc).__name__})", code="endpoint_unreachable", key=key)
    if isinstance(exc, BotoCoreError):
        return DestinationError(f"The endpoint answered, but not like an S3 API ({type(exc).__name__}): check the "
                                "endpoint URL.", code="incompatible_endpoint", key=key)
    return TransientError(f"unexpected error: {type(exc).__name__}", code="unexpected", key=key)


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


def build_client(config: DestinationConfig, *, allow_private: bool) -> BaseClient:
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


@dataclass
class _Cached:
    client: BaseClient
    fingerprint: bytes
    made_at: float


class ClientCache:
    """One client per destination per process, rebuilt when its config changes or after CLIENT_TTL."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._clients: dict[str, _Cached] = {}

    def get(self, key: str, config: DestinationConfig, *, allow_private: bool) -> BaseClient:
        fingerprint = orjson.dumps(config.model_dump(mode="json", include=set(_FINGERPRINT)))
        fingerprint += config.access_secret.get_secret_value().encode()
        now = time.monotonic()
        with self._lock:
            cached = self._clients.get(key)
            if cached and cached.fingerprint == fingerprint and now - cached.made_at < CLIENT_TTL:
                return cached.client
            try:
                client = build_client(config, allow_private=allow_private)
            except EndpointForbidden:
                self._clients.pop(key, None)
                raise
            self._clients[key] = _Cached(client, fingerprint, now)
            return client


_FINGERPRINT = ("bucket_name", "region", "endpoint", "access_key_id", "session_token")


def put_object(client: BaseClient, *, bucket: str, key: str, body: bytes, content_type: str) -> None:
    try:
        response = client.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type)
    except Exception as exc:
        raise classify(exc, key=key) from exc
    if "ETag" not in response:
        raise DestinationError("The endpoint accepted the write without an ETag, not like an S3 API: check the "
                               "endpoint URL.", code="incompatible_endpoint", key=key)


def bucket_exists(client: BaseClient, bucket: str) -> bool | None:
    """HeadBucket's word on whether a bucket exists: True, False, or None when the store will not say."""
    try:
        client.head_bucket(Bucket=bucket)
    except ClientError as exc:
        meta = exc.response.get("ResponseMetadata", {})
        status, code = meta.get("HTTPStatusCode"), exc.response.get("Error", {}).get("Code")
        if status == 404 or code == "NoSuchBucket":
            return False
        return True if status in (301, 400) and "x-amz-bucket-region" in meta.get("HTTPHeaders", {}) else None
    except BotoCoreError:
        return None
    return True


def delete_quietly(client: BaseClient, *, bucket: str, key: str) -> None:
    """Delete an object if the credentials may; a refused or failed delete is not an error."""
    with contextlib.suppress(ClientError, BotoCoreError):
        client.delete_object(Bucket=bucket, Key=key)


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
