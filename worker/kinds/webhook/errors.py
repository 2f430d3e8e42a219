"""A receiver's answers and aiohttp's exceptions, mapped into tracedrop's error tree: the one place that does it.

Delivery and the connection test read a status differently in one place only: a 400 passes the test (some
receivers refuse an empty payload) but refuses a delivery.
"""

from __future__ import annotations

import asyncio
import ssl

import aiohttp

from worker.egress import CONNECT_TIMEOUT, READ_TIMEOUT
from worker.errors import DeliveryError, DestinationError, TraceRejected, TransientError
from worker.excerpts import excerpt
from worker.kinds.webhook.target import CREDENTIALS
from worker.retry import retry_after_ms

REFUSALS = frozenset({400, 413, 422})
"""Statuses that refuse this content: a batch is split and sent a trace at a time; a single trace so refused goes
to dead letters."""
TRANSIENT = frozenset({408, 425, 429})


class Refused(TraceRejected):
    """The receiver refused this body (400, 413, 422)."""

    code = "receiver_refused"


def shown_body(body: bytes, *, content_type: str | None = None, content_encoding: str | None = None) -> str:
    """The start of an answer's body as a message shows it: decoded, or described (``worker.excerpts``)."""
    text = excerpt(body, content_type=content_type, content_encoding=content_encoding)
    return f": {text}" if text else " (no body)"


def from_status(status: int, body: bytes, *, location: str | None = None, retry_after: str | None = None,
                content_type: str | None = None, content_encoding: str | None = None, testing: bool = False,
                credentials: str = CREDENTIALS) -> DeliveryError | None:
    """What an answer means: None when the content was taken, else the error to record; a refusal of the
    credentials says to check ``credentials``. The body is shown as its ``content_type`` and ``content_encoding``
    say."""
    if 200 <= status < 300 or (testing and status == 400):
        return None
    shown = f"HTTP {status}{shown_body(body, content_type=content_type, content_encoding=content_encoding)}"
    if 300 <= status < 400:
        target = excerpt(location or "") or "none"
        return DestinationError(f"The receiver answered with a redirect ({shown}; Location: {target}). tracedrop "
                                "never follows redirects: use the final URL.", code="redirect_refused")
    if status in (401, 403):
        return DestinationError(f"The receiver refused the credentials ({shown}): check {credentials}.",
                                code="unauthorized")
    if status in (404, 405, 410):
        return DestinationError(f"The receiver has no such endpoint, or it does not take this method ({shown}): "
                                "check the URL and the method.", code="not_found")
    if status >= 500 or status in TRANSIENT:
        error = TransientError(f"The receiver failed ({shown}): tracedrop retries with backoff; if it lasts, "
                               "check the receiver.", code="rate_limited" if status == 429 else "receiver_error")
        error.retry_after_ms = retry_after_ms(retry_after)
        return error
    if status in REFUSALS:
        return Refused(f"The receiver refused this content ({shown}).")
    return DestinationError(f"The receiver refused the request ({shown}): check that the URL, method and format "
                            "are what it expects.", code="receiver_refused")


def from_exception(exc: BaseException, *, read_timeout: float = READ_TIMEOUT) -> DeliveryError:
    """Translate an aiohttp exception met by a request that waited ``read_timeout`` seconds for each read of its
    answer; DeliveryErrors (the egress fence) pass through."""
    if isinstance(exc, DeliveryError):
        return exc
    if isinstance(exc, aiohttp.ClientSSLError | ssl.SSLError):
        return DestinationError(f"Could not open a TLS connection to the receiver ({exc}): check that it serves "
                                "https on that port, with a certificate valid for its host name.", code="tls_error")
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return TransientError(f"Nothing accepted a connection at the URL within {CONNECT_TIMEOUT} s: check the "
                              "host, the port and any firewall in between.", code="timeout")
    if isinstance(exc, aiohttp.ServerTimeoutError | asyncio.TimeoutError):
        return TransientError(f"The receiver accepted the connection but did not answer within {read_timeout:g} s: "
                              "check that it answers before doing slow work.", code="timeout")
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return TransientError("The URL's host name does not resolve: check the URL.", code="endpoint_unreachable")
    if isinstance(exc, aiohttp.ClientConnectorError):
        return TransientError("Nothing accepts connections at the URL: check the URL, the port and any firewall in "
                              f"between. ({type(exc).__name__})", code="endpoint_unreachable")
    if isinstance(exc, aiohttp.ClientError):
        return TransientError("The receiver closed the connection without an answer: check the URL (http or "
                              f"https, the port). ({type(exc).__name__})", code="endpoint_unreachable")
    return TransientError(f"unexpected error: {type(exc).__name__}", code="unexpected")
