"""How a receiver's answers are read: delivery classes, the connection test's codes, Retry-After."""

from __future__ import annotations

import email.utils

from hypothesis import given
from hypothesis import strategies as st

from worker.egress import EXCERPT_BYTES
from worker.errors import DestinationError, TraceRejected, TransientError
from worker.kinds.webhook.conntest import CODES
from worker.kinds.webhook.errors import from_status, retry_after_ms
from worker.retry import RETRY_AFTER_CAP_MS


@given(st.integers(min_value=100, max_value=599), st.binary(max_size=2000))
def test_every_status_the_test_does_not_pass_has_a_test_code(status: int, body: bytes) -> None:
    error = from_status(status, body, testing=True)
    assert (error is None) == (200 <= status < 300 or status == 400)
    assert error is None or error.code in CODES


def test_delivery_classes() -> None:
    assert from_status(204, b"") is None
    for status in (408, 425, 429, 500, 502, 503):
        assert isinstance(from_status(status, b""), TransientError), status
    for status, code in ((401, "unauthorized"), (403, "unauthorized"), (404, "not_found"), (405, "not_found"),
                         (410, "not_found"), (301, "redirect_refused"), (415, "receiver_refused")):
        error = from_status(status, b"")
        assert isinstance(error, DestinationError) and error.code == code, status
    for status in (400, 413, 422):
        error = from_status(status, b"x" * 5000)
        assert isinstance(error, TraceRejected) and error.code == "receiver_refused"
        assert f"HTTP {status}" in error.message and error.message.count("x") == EXCERPT_BYTES


def test_retry_after_in_seconds_or_as_a_date_is_capped_at_five_minutes() -> None:
    assert retry_after_ms("7") == 7000
    assert retry_after_ms("86400") == RETRY_AFTER_CAP_MS == 300_000
    assert retry_after_ms(email.utils.formatdate(1_000_030, usegmt=True), now=1_000_000) == 30_000
    assert retry_after_ms(email.utils.formatdate(999_000, usegmt=True), now=1_000_000) == 0
    assert retry_after_ms("soon") is None and retry_after_ms(None) is None
    error = from_status(503, b"", retry_after="12")
    assert isinstance(error, TransientError) and error.retry_after_ms == 12_000
