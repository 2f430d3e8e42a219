"""A destination's redaction applied to a stored trace: pure, the trace in, a redacted copy out.

Every string value is searched (but ``STRUCTURAL`` fields), and so is every integer of seven digits or more; keys
are left as they are. ``drop_fields`` go
first."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from worker import re2
from worker.redaction.config import Redaction
from worker.redaction.detectors import LABELS, find, maybe
from worker.redaction.paths import checked_path, drop

SHORTEST = 6
"""Strings shorter than this hold no detector's value (the shortest, an email, is ``a@b.co``)."""
TOKEN_HEX = 8
"""Hex digits of a hash token (``[EMAIL:3f9a1c2e]``)."""
_LONG_INT = 1_000_000
STRUCTURAL = frozenset({"id", "timestamp"})
"""Never searched: the id names the object and keeps deliveries idempotent; the timestamp is when it happened."""


class Redactor:
    """One destination's redaction, compiled once: ``key`` is its hash tokens' HMAC key."""

    def __init__(self, redaction: Redaction, *, key: bytes) -> None:
        self.detectors = tuple(sorted(redaction.detectors))
        self.patterns = [(p.name.upper(), re2.compiled(p.regex)) for p in redaction.patterns]
        self.replace_with = redaction.replace_with
        self.paths = [checked_path(path) for path in redaction.drop_fields]
        if self.replace_with == "hash" and not key:
            raise ValueError("hash tokens need the destination's redaction key")
        self.key = key

    def apply(self, trace: dict[str, Any]) -> dict[str, Any]:
        """A redacted copy of the stored ``trace``; the original is left as it is."""
        copy = {name: value if name in STRUCTURAL else self._value(value) for name, value in trace.items()}
        for path in self.paths:
            drop(copy, path)
        return copy

    def _value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {name: self._value(item) for name, item in value.items()}
        if isinstance(value, list):
            return [self._value(item) for item in value]
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= _LONG_INT:
            text = str(value)
            redacted = self.text(text)
            return value if redacted == text else redacted
        return value

    def text(self, text: str) -> str:
        """``text`` with every value found replaced."""
        if len(text) < SHORTEST and not self.patterns:
            return text
        data = text.encode()  # RE2 works in UTF-8: offsets in bytes, with no conversion per match
        spans: list[tuple[int, int, str]] = []
        if self.detectors and len(text) >= SHORTEST and maybe(text):
            spans += [(start, end, LABELS[name]) for name, start, end in find(self.detectors, data)]
        for label, pattern in self.patterns:
            spans += [(*m.span(), label) for m in pattern.finditer(data) if m.end() > m.start()]
        if not spans:
            return text
        spans.sort(key=lambda s: (s[0], -s[1]))
        out: list[bytes] = []
        at = 0
        for start, end, label in spans:
            if start < at:
                continue  # inside a value already replaced
            out += [data[at:start], self.token(label, data[start:end])]
            at = end
        out.append(data[at:])
        return b"".join(out).decode("utf-8", "replace")

    def token(self, label: str, value: bytes) -> bytes:
        if self.replace_with == "remove":
            return b""
        if self.replace_with == "label":
            return f"[{label}]".encode()
        digest = hmac.new(self.key, value, hashlib.sha256).hexdigest()[:TOKEN_HEX]
        return f"[{label}:{digest}]".encode()
