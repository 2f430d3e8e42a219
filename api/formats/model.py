"""What every gateway format is read into: items (native trace candidates) that remember where they came from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Problem = tuple[str, str]
"""A field (relative to its item, in the source format's own names) and why it was refused."""


class Undecodable(ValueError):
    """The body cannot be read as the format it was recognised as (400 for OTLP, 422 for the JSON formats)."""

    def __init__(self, format: str, field: str, reason: str, *, code: str = "invalid_request") -> None:
        super().__init__(f"{field}: {reason}" if field else reason)
        self.format, self.field, self.reason, self.code = format, field, reason, code


class TooMany(ValueError):
    """The body holds more than a limit allows (413); ``code`` names the limit."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(slots=True)
class Item:
    """One trace as a gateway sent it, read into the native trace shape but not yet validated.

    ``where`` locates the item in the body where an index alone does not (``resourceSpans[0].scopeSpans[1].spans[4]``;
    empty for the JSON formats, whose problems carry the item's index);
    ``origins`` names, for each native field the reader filled, the source field it came from, so a refusal names
    the field the gateway sent.
    """

    format: str
    where: str
    trace: Any
    origins: dict[str, str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def source_field(self, native: str) -> str:
        """The source field behind a native dotted field (``usage.prompt_tokens``), the longest known prefix."""
        parts = native.split(".")
        for n in range(len(parts), 0, -1):
            head = ".".join(parts[:n])
            if head in self.origins:
                return self.origins[head] + "".join(f".{part}" for part in parts[n:])
        return native

    def locate(self, relative: str) -> str:
        if not self.where:
            return relative
        return f"{self.where}.{relative}" if relative else self.where


@dataclass(slots=True)
class Decoded:
    """A request body read in one format.

    ``partial``: refused items are left out and the others stored (OTLP's partial success); otherwise one refused
    item refuses the whole request (the native format's all or nothing). ``ignored`` counts spans that are not
    LLM requests.
    """

    format: str
    items: list[Item]
    partial: bool = False
    ignored: int = 0
    answer: str = "json"
    """How the success is answered: ``json`` (``202 {"accepted": N}``), ``otlp_json`` or ``otlp_proto``."""
