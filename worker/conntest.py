"""What the connection test answers: its codes, its advice, and its time bound (no I/O of its own).

``worker.s3.connection_test`` does the writing; this module turns what happened into one of the codes the README
lists, with a message a person can act on, and keeps the whole test within ``DEADLINE`` seconds.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from typing import Any

from worker.errors import DeliveryError, DestinationError, TransientError

DEADLINE = 9.0
"""Seconds the connection test may take in all; the API answers within this bound."""
CODES = frozenset(
    {"invalid_access_key", "signature_mismatch", "access_denied", "no_such_bucket", "wrong_region",
     "endpoint_unreachable", "timeout", "endpoint_forbidden", "incompatible_endpoint"}
)
"""The codes a connection test answers with (README: Connection test)."""


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


def within(deadline: float, test: Callable[[dict[str, Any]], None],
           classify: Callable[[Exception], DeliveryError]) -> None:
    """Run ``test(outcome)`` on its own thread; return once it set ``outcome["written"]``, else raise.

    A test still running at the deadline is answered ``timeout`` and left to finish on its own (its sockets have
    their own timeouts).
    """
    outcome: dict[str, Any] = {}
    finished = threading.Event()

    def run() -> None:
        try:
            test(outcome)
        except Exception as exc:
            outcome["error"] = exc
        finally:
            finished.set()

    threading.Thread(target=run, name="connection-test", daemon=True).start()
    finished.wait(deadline)
    if outcome.get("written"):
        return
    if "error" in outcome:
        raise as_test_failure(classify(outcome["error"]))
    raise TransientError(f"The endpoint did not complete a small write within {deadline:.0f} s: check that it is "
                         "an S3 API and that it is not overloaded.", code="timeout")
