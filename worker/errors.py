"""The error tree: every failure tracedrop knows how to name, with its context."""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Iterable, Mapping
from typing import Any

_NAMED = re.compile(r"^([a-z_]+|\[\d+\]): (.+)$", re.DOTALL)
INDEXED = frozenset({"filter_rules", "redaction"})
"""Fields whose errors name list items as ``[n]`` (``filter_rules.groups[1].rules[0].value``), as their editor
shows them."""


def _path(loc: Iterable[Any]) -> str:
    parts = [part for part in loc if part != "body"]
    indexed = bool(parts) and parts[0] in INDEXED
    field = ""
    for part in parts:
        if isinstance(part, int) and indexed:
            field += f"[{part}]"
        else:
            field += f".{part}" if field else str(part)
    return field


def field_problems(errors: Iterable[Mapping[str, Any]], *, root: str = "body",
                   known: Collection[str] = ()) -> list[dict[str, str]]:
    """pydantic errors as ``[{"field", "reason"}]`` with dotted fields; a cross-field error (raised by a model
    validator as ``"field: reason"``) names its field that way. ``root`` names an error of the whole object; an
    unknown top-level field close to one of ``known`` asks whether that one was meant."""
    found = []
    for error in errors:
        field = _path(error["loc"])
        reason = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "extra_forbidden" and (close := difflib.get_close_matches(field, known, n=1)):
            reason = f"{reason}: did you mean {close[0]!r}?"
        named = _NAMED.match(reason)
        if named and (not field or field.split(".")[0].split("[")[0] in INDEXED):
            name, reason = named.groups()
            field = f"{field}{name}" if name.startswith("[") else f"{field}.{name}" if field else name
        found.append({"field": field or root, "reason": reason})
    return found


class TracedropError(Exception):
    """Base of every tracedrop error."""


class DeliveryError(TracedropError):
    """Writing to a destination failed. ``code`` is the error code docs/s3.md and docs/webhooks.md name."""

    code = "delivery_failed"

    def __init__(self, message: str, *, code: str | None = None, key: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.key = key

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


class TransientError(DeliveryError):
    """Connection, timeout, 5xx, throttling: retried with backoff (or after ``retry_after_ms``, when the
    destination said how long to wait)."""

    code = "transient"
    retry_after_ms: int | None = None


class DestinationError(DeliveryError):
    """The destination itself is misconfigured (credentials, bucket, region, endpoint): park and probe."""

    code = "destination_error"


class EndpointForbidden(DestinationError):
    """The endpoint resolves to an address tracedrop never connects to."""

    code = "endpoint_forbidden"


class EndpointUnresolvable(TransientError):
    """The endpoint's host name does not resolve: nothing is connected to, and it is tried again later."""

    code = "endpoint_unreachable"


class TraceRejected(DeliveryError):
    """This one trace can never be written (too large, refused key): dead letter."""

    code = "trace_rejected"


class MissingDictionary(TracedropError, LookupError):
    """A stored body names a compression dictionary that is not in Redis (its ``td:zd:{id}`` was deleted)."""


class TemplateError(TracedropError, ValueError):
    """A path template or prefix the service refuses to render."""
