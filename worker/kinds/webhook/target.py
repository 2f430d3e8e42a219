"""Where and how a destination's traces travel over HTTP: all that the webhook writer and its connection test need
from a destination. The webhook kind builds one from its form; a named OTLP vendor (worker/kinds/otlp_vendor/) from
the vendor's fields, and gets the webhook kind's delivery (batches, splits, retries, error mapping, the fence)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from worker.egress import READ_TIMEOUT

CREDENTIALS = "the headers (an Authorization header, an API key) and the signing secret"


@dataclass(frozen=True)
class Target:
    method: str
    url: str
    batch_size: int
    encode: Callable[[list[dict[str, Any]]], bytes]
    """The body carrying these traces (stored form), privacy mode applied."""
    empty: bytes
    """The body that says nothing: the connection test sends it."""
    headers: Callable[[bytes, bool], dict[str, str]]
    """A request's headers, given its body and whether it is the connection test."""
    credentials: str = CREDENTIALS
    """What to check when the receiver refuses the credentials (401, 403)."""
    read_timeout: float = READ_TIMEOUT
    """Seconds to wait for each read of an answer, deliveries and the connection test alike: longer for a receiver
    known to answer slowly but surely (MLflow), so a slow answer is waited for, not retried."""


@runtime_checkable
class Targeted(Protocol):
    def target(self) -> Target:
        """Where and how this destination's requests go."""
