"""Trace input v1: validation of what a gateway sends, and the stored form a worker reads.

The stored form is a plain dict (orjson-encoded in Redis) with the trace's own fields, less anything not
carried, less secret headers, and ``timestamp`` as integer milliseconds since the epoch (UTC).
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError, field_validator

Name = Annotated[str, Field(max_length=1024)]
Count = Annotated[StrictInt, Field(ge=0)]
Money = Annotated[float, Field(ge=0, strict=True, allow_inf_nan=False)]

_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$")
_SECRET_HEADER = re.compile(r"authorization|cookie|api[-_]?key|token|secret|password|signature", re.I)


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
    model_config = ConfigDict(extra="ignore")
    request: dict[str, Name] | None = None
    response: dict[str, Name] | None = None


class TraceMetadata(BaseModel):
    """The ``trace`` object: custom metadata, with a few keys that mean something."""

    model_config = ConfigDict(extra="allow")
    trace_id: Name | None = None
    trace_name: Name | None = None
    generation_name: Name | None = None
    tags: list[Name] | None = None


class TraceIn(BaseModel):
    """One completed LLM request as a gateway reports it (SPEC: Trace input v1)."""

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


def parse_timestamp_ms(value: Any) -> int:
    """RFC 3339 with ``Z`` or an offset, or unix seconds as a number; to epoch milliseconds."""
    if isinstance(value, bool):
        raise ValueError("must be an RFC 3339 time or unix seconds")
    if isinstance(value, int | float):
        if not math.isfinite(value) or not 0 <= value < 253402300800:
            raise ValueError("unix seconds out of range")
        return round(value * 1000)
    if isinstance(value, str):
        if not _RFC3339.match(value):
            raise ValueError("must be RFC 3339 with 'Z' or an offset (e.g. 2024-01-15T10:00:00Z)")
        try:
            parsed = datetime.fromisoformat(value.replace("z", "Z").replace("t", "T"))
        except ValueError as exc:
            raise ValueError(f"not a valid date or time: {exc}") from None
        return round(parsed.astimezone(UTC).timestamp() * 1000)
    raise ValueError("must be an RFC 3339 time or unix seconds")


def stored_form(trace: TraceIn) -> dict[str, Any]:
    """What is kept in Redis: the carried fields only, secret headers removed."""
    data = trace.model_dump(exclude_none=True)
    headers = data.get("headers")
    if headers:
        data["headers"] = {side: without_secret_headers(values) for side, values in headers.items()}
    return data


def without_secret_headers(headers: dict[str, str]) -> dict[str, str]:
    return {name: value for name, value in headers.items() if not _SECRET_HEADER.search(name)}


class TraceProblem(BaseModel):
    index: int
    field: str
    reason: str


def validate_traces(items: list[Any]) -> tuple[list[TraceIn], list[TraceProblem]]:
    """Validate every item; return the traces, or every problem found (index, dotted field, reason)."""
    traces: list[TraceIn] = []
    problems: list[TraceProblem] = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            problems.append(TraceProblem(index=index, field="", reason="a trace must be a JSON object"))
            continue
        try:
            traces.append(TraceIn.model_validate(item))
        except ValidationError as exc:
            for error in exc.errors(include_url=False):
                field = ".".join(str(part) for part in error["loc"])
                reason = error["msg"].removeprefix("Value error, ")
                problems.append(TraceProblem(index=index, field=field, reason=reason))
    return traces, problems
