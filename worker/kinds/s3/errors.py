"""S3's answers, aiohttp's and botocore's exceptions, mapped into tracedrop's error tree: the one place that does it.

Per-trace delivery and the connection test send with aiohttp (bucket.py: ``from_answer``, ``from_transport``),
batch files and ``tracedrop read`` with boto3 (client.py: ``classify``); the same answer or failure gets the same
code and message from both.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Mapping

import aiohttp
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    HTTPClientError,
    ReadTimeoutError,
    SSLError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError
from urllib3.exceptions import NameResolutionError

from worker.egress import CONNECT_TIMEOUT, READ_TIMEOUT
from worker.errors import DeliveryError, DestinationError, TraceRejected, TransientError
from worker.excerpts import excerpt
from worker.retry import retry_after_ms

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
    headers = {k.lower(): v for k, v in meta.get("HTTPHeaders", {}).items()}
    return from_answer(int(meta.get("HTTPStatusCode", 0)), headers, code=str(error.get("Code", "")),
                       message=error.get("Message"), region=error.get("Region"), key=key)


def from_answer(status: int, headers: Mapping[str, str], *, code: str, message: str | None,
                region: str | None = None, key: str | None = None) -> DeliveryError:
    """What an S3 error answer means: its status, headers (lower-case names), and the XML body's Code, Message
    and Region (Code is the status, as a string, when the body has none). A message shows each of them only as an
    excerpt (``worker.excerpts``)."""
    code, message, region = excerpt(code), excerpt(message or ""), excerpt(region or "")
    detail = f"{code or status}: {message or 'no message'}"
    if code in _REGION_CODES or (status in (301, 307) and "x-amz-bucket-region" in headers):
        region = region or excerpt(headers.get("x-amz-bucket-region", ""))
        where = f"set region to {region!r}" if region else "fix region (or the endpoint)"
        return DestinationError(f"The bucket lives in another region: {where}. ({detail})", code="wrong_region",
                                key=key)
    if code in _DESTINATION_CODES:
        mapped = _DESTINATION_CODES[code]
        return DestinationError(f"{_HINTS[mapped]} ({detail})", code=mapped, key=key)
    if code in _TRACE_CODES:
        return TraceRejected(f"The store refused this object for good ({detail}).", code="trace_rejected", key=key)
    if code in _TRANSIENT_CODES or status >= 500 or status == 429:
        error = TransientError(f"The store is unavailable ({detail}): try again later; if it lasts, check the "
                               "store.", code="store_unavailable", key=key)
        error.retry_after_ms = retry_after_ms(headers.get("retry-after"))
        return error
    if 300 <= status < 400:
        return DestinationError(
            f"The endpoint answered with a redirect (HTTP {status} to {excerpt(headers.get('location', 'nowhere'))}); "
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


def _connect_timeout(key: str | None) -> TransientError:
    return TransientError(f"Nothing accepted a connection at the endpoint within {CONNECT_TIMEOUT} s: check the "
                          "host, the port and any firewall in between.", code="timeout", key=key)


def _read_timeout(key: str | None) -> TransientError:
    return TransientError(f"The endpoint accepted the connection but did not answer within {READ_TIMEOUT} s: "
                          "check that the URL points at an S3 API and that the store is not overloaded.",
                          code="timeout", key=key)


def _tls(detail: object, key: str | None) -> DestinationError:
    return DestinationError(f"Could not open a TLS connection to the endpoint ({detail}): check that it serves "
                            "https on that port, with a certificate valid for its host name.",
                            code="endpoint_unreachable", key=key)


def _unresolvable(key: str | None) -> TransientError:
    return TransientError("The endpoint's host name does not resolve: check the endpoint URL.",
                          code="endpoint_unreachable", key=key)


def _refused(exc: Exception, key: str | None) -> TransientError:
    return TransientError("Nothing accepts connections at the endpoint: check the URL, the port and any "
                          f"firewall in between. ({type(exc).__name__})", code="endpoint_unreachable", key=key)


def _closed(exc: Exception, key: str | None) -> TransientError:
    return TransientError("The endpoint closed the connection without an HTTP answer: check the URL (http vs "
                          f"https, port). ({type(exc).__name__})", code="endpoint_unreachable", key=key)


def from_transport(exc: Exception, *, key: str | None = None) -> DeliveryError:
    """Translate an aiohttp exception (no answer came); DeliveryErrors (the egress fence) pass through."""
    if isinstance(exc, DeliveryError):
        return exc
    if isinstance(exc, aiohttp.ClientSSLError | ssl.SSLError):
        return _tls(exc, key)
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return _connect_timeout(key)
    if isinstance(exc, aiohttp.ServerTimeoutError | asyncio.TimeoutError):
        return _read_timeout(key)
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return _unresolvable(key)
    if isinstance(exc, aiohttp.ClientConnectorError):
        return _refused(exc, key)
    if isinstance(exc, aiohttp.ClientError):
        return _closed(exc, key)
    return TransientError(f"unexpected error: {type(exc).__name__}", code="unexpected", key=key)


def classify(exc: Exception, *, key: str | None = None) -> DeliveryError:
    """Translate a boto3/botocore exception into the project's error tree: the one place that does it."""
    if isinstance(exc, DeliveryError):
        return exc
    if isinstance(exc, HTTPClientError) and isinstance(exc.kwargs.get("error"), DeliveryError):
        return exc.kwargs["error"]  # type: ignore[no-any-return]
    if isinstance(exc, ClientError):
        return _from_response(exc, key)
    if isinstance(exc, ConnectTimeoutError):
        return _connect_timeout(key)
    if isinstance(exc, ReadTimeoutError):
        return _read_timeout(key)
    if isinstance(exc, SSLError):
        return _tls(exc.kwargs.get("error"), key)
    if isinstance(exc, EndpointConnectionError) and isinstance(exc.kwargs.get("error"),
                                                               NameResolutionError | socket.gaierror):
        return _unresolvable(key)
    if isinstance(exc, BotoConnectionError):
        return _refused(exc, key)
    if isinstance(exc, ConnectionClosedError | HTTPClientError):
        return _closed(exc, key)
    if isinstance(exc, BotoCoreError):
        return DestinationError(f"The endpoint answered, but not like an S3 API ({type(exc).__name__}): check the "
                                "endpoint URL.", code="incompatible_endpoint", key=key)
    return TransientError(f"unexpected error: {type(exc).__name__}", code="unexpected", key=key)
