"""Trace input v1: validation of what a gateway sends, and the stored form a worker reads.

The stored form is a plain dict (orjson-encoded in Redis) with the trace's own fields, less anything not
carried, less secret headers, and ``timestamp`` as integer milliseconds since the epoch (UTC).
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError, field_validator, model_validator

from worker.errors import field_problems

Name = Annotated[str, Field(max_length=1024)]
HeaderValue = str | list[str]
Count = Annotated[StrictInt, Field(ge=0)]
Money = Annotated[float, Field(ge=0, strict=True, allow_inf_nan=False)]

_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$")
_SECRET_HEADER = re.compile(r"authorization|cookie|api[-_]?key|token|secret|password|signature", re.I)
MAX_EPOCH_MS = 253402300800_000
"""The first millisecond after 9999-12-31T23:59:59.999Z: every time a trace carries or implies comes before it."""
MAX_BODY_DEPTH = 128
"""How deeply ``request``/``response`` may nest: the exported forms put them a few levels deeper still, and
orjson writes at most 254 levels."""


class Usage(BaseModel):
    model_config = ConfigDict(extra="ignore")
    prompt_tokens: Count | None = None
    completion_tokens: Count | None = None
    total_tokens: Count | None = None
    cached_tokens: Count | None = None
    cache_write_tokens: Count | None = None
    reasoning_tokens: Count | None = None


class Cost(BaseModel):
    model_config = ConfigDict(extra="ignore")
    input: Money | None = None
    output: Money | None = None
    total: Money | None = None


class Identity(BaseModel):
    model_config = ConfigDict(extra="ignore")
    login_name: Name | None = None
    node_id: Name | None = None
    tags: list[Name] | None = None


class Headers(BaseModel):
    """Request and response headers as received; secret ones are dropped before anything else looks at them."""

    model_config = ConfigDict(extra="ignore")
    request: dict[Name, HeaderValue] | None = None
    response: dict[Name, HeaderValue] | None = None

    @field_validator("request", "response", mode="before")
    @classmethod
    def _drop_secrets(cls, value: Any) -> Any:
        return without_secret_headers(value) if isinstance(value, dict) else value


class TraceMetadata(BaseModel):
    """The ``trace`` object: custom metadata, with a few keys that mean something."""

    model_config = ConfigDict(extra="allow")
    trace_id: Name | None = None
    trace_name: Name | None = None
    generation_name: Name | None = None
    tags: list[Name] | None = None


class TraceIn(BaseModel):
    """One completed LLM request as a gateway reports it (docs/ingest.md: Trace input (v1))."""

    model_config = ConfigDict(extra="ignore")

    id: Annotated[str, Field(pattern=r"^[A-Za-z0-9._:-]{1,128}$")]
    timestamp: Any
    model: Annotated[str, Field(min_length=1, max_length=1024)]
    api_key_name: Name | None = None
    user: Name | None = None
    session_id: Name | None = None
    trace: TraceMetadata | None = None
    provider: Name | None = None
    api_type: Name | None = None
    path: Name | None = None
    status_code: Annotated[StrictInt, Field(ge=100, le=599)] | None = None
    finish_reason: Name | None = None
    level: Literal["DEBUG", "DEFAULT", "WARNING", "ERROR"] | None = None
    status_message: Name | None = None
    duration_ms: Count | None = None
    time_to_first_token_ms: Count | None = None
    usage: Usage | None = None
    cost: Cost | None = None
    request: Any = None
    response: Any = None
    identity: Identity | None = None
    headers: Headers | None = None

    @field_validator("timestamp", mode="plain")
    @classmethod
    def _timestamp_ms(cls, value: Any) -> int:
        return parse_timestamp_ms(value)

    @field_validator("request", "response", "trace", mode="before")
    @classmethod
    def _bounded_depth(cls, value: Any) -> Any:
        if nesting_depth(value) > MAX_BODY_DEPTH:
            raise ValueError(f"nested deeper than {MAX_BODY_DEPTH} levels")
        return value

    @model_validator(mode="after")
    def _end_in_range(self) -> TraceIn:
        for name in ("duration_ms", "time_to_first_token_ms"):
            if self.timestamp + (getattr(self, name) or 0) >= MAX_EPOCH_MS:
                raise ValueError(f"{name}: ends after the year 9999")
        return self


def parse_timestamp_ms(value: Any) -> int:
    """RFC 3339 with ``Z`` or an offset, or unix seconds as a number; to epoch milliseconds."""
    if isinstance(value, bool):
        raise ValueError("must be an RFC 3339 time or unix seconds")
    if isinstance(value, int | float):
        if not math.isfinite(value) or not 0 <= value * 1000 < MAX_EPOCH_MS:
            raise ValueError("unix seconds out of range (1970 to 9999)")
        return round(value * 1000)
    if isinstance(value, str):
        if not _RFC3339.fullmatch(value):
            raise ValueError("must be RFC 3339 with 'Z' or an offset (e.g. 2024-01-15T10:00:00Z)")
        try:
            parsed = datetime.fromisoformat(value.replace("z", "Z").replace("t", "T"))
        except ValueError as exc:
            raise ValueError(f"not a valid date or time: {exc}") from None
        epoch_ms = round((parsed - _EPOCH).total_seconds() * 1000)
        if not 0 <= epoch_ms < MAX_EPOCH_MS:
            raise ValueError("out of range: must be in UTC between 1970 and 9999")
        return epoch_ms
    raise ValueError("must be an RFC 3339 time or unix seconds")


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def nesting_depth(value: Any) -> int:
    """How many arrays and objects deep a JSON value goes (a scalar is 0, ``{}`` is 1)."""
    depth, level = 0, [value]
    while containers := [node for node in level if isinstance(node, dict | list)]:
        depth += 1
        level = [child for node in containers for child in (node.values() if isinstance(node, dict) else node)]
    return depth


def stored_form(trace: TraceIn) -> dict[str, Any]:
    """What is kept in Redis: the carried fields only, secret headers removed."""
    data = trace.model_dump(exclude_none=True)
    if trace.trace is not None and trace.trace.model_extra:
        data["trace"].update(trace.trace.model_extra)  # custom metadata is kept as sent, nulls included
    return data


def without_secret_headers(headers: dict[Any, Any]) -> dict[Any, Any]:
    return {name: value for name, value in headers.items() if not (isinstance(name, str)
                                                                   and _SECRET_HEADER.search(name))}


class TraceProblem(BaseModel):
    index: int
    field: str
    reason: str


def validate_trace(item: Any) -> tuple[TraceIn | None, list[dict[str, str]]]:
    """The validated trace, or every problem found in it (dotted field, reason)."""
    if not isinstance(item, dict):
        return None, [{"field": "trace", "reason": "a trace must be a JSON object"}]
    try:
        return TraceIn.model_validate(item), []
    except ValidationError as exc:
        return None, field_problems(exc.errors(include_url=False), root="trace")


def validate_traces(items: list[Any]) -> tuple[list[TraceIn], list[TraceProblem]]:
    """Validate every item; return the traces, or every problem found (index, dotted field, reason)."""
    traces: list[TraceIn] = []
    problems: list[TraceProblem] = []
    for index, item in enumerate(items):
        trace, found = validate_trace(item)
        if trace is not None:
            traces.append(trace)
        problems += [TraceProblem(index=index, **p) for p in found]
    return traces, problems
