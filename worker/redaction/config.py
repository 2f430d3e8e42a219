"""A destination's ``redaction``: which detectors and patterns, what replaces a value found, which fields go."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from worker import re2
from worker.redaction.paths import checked_path

Detector = Literal["email", "phone", "credit_card", "iban", "ip_address", "secret"]
MAX_PATTERNS = 20
MAX_DROPPED = 50


class Pattern(BaseModel):
    """A value of the organisation's own (an employee id, a ticket number): ``[EMPLOYEE_ID]`` once found."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,31}$", description="Its label, upper-cased.")]
    regex: Annotated[str, Field(min_length=1, description="An RE2 pattern (linear time).")]

    @field_validator("regex")
    @classmethod
    def _linear(cls, value: str) -> str:
        re2.compiled(value)
        return value


class Redaction(BaseModel):
    """What this destination must never receive; the stored trace and other destinations keep the original."""

    model_config = ConfigDict(extra="forbid")

    detectors: Annotated[list[Detector], Field(max_length=6)] = []
    patterns: Annotated[list[Pattern], Field(max_length=MAX_PATTERNS)] = []
    replace_with: Literal["label", "hash", "remove"] = "label"
    drop_fields: Annotated[list[str], Field(max_length=MAX_DROPPED)] = []

    @field_validator("detectors")
    @classmethod
    def _once(cls, value: list[Detector]) -> list[Detector]:
        if len(set(value)) != len(value):
            raise ValueError("each detector at most once")
        return value

    @field_validator("patterns")
    @classmethod
    def _named_once(cls, value: list[Pattern]) -> list[Pattern]:
        if len({p.name for p in value}) != len(value):
            raise ValueError("each pattern name at most once")
        return value

    @field_validator("drop_fields")
    @classmethod
    def _paths(cls, value: list[str]) -> list[str]:
        for at, path in enumerate(value):
            try:
                checked_path(path)
            except ValueError as exc:
                raise ValueError(f"[{at}]: {exc}") from None
        return value
