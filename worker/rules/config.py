"""Filter rules as a destination's ``filter_rules`` takes them, in OpenRouter Broadcast's shape: groups of
``field operator value``; every group must match, and a group's ``logic`` combines its rules."""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, model_validator

from worker import re2
from worker.rules.fields import NUMBERS, TEXTS, known_field

Operator = Literal["equals", "not_equals", "contains", "not_contains", "regex", "starts_with", "ends_with", "gt",
                   "lt", "gte", "lte", "exists", "not_exists"]
COMPARING = frozenset({"gt", "lt", "gte", "lte"})
"""Operators that compare numbers: their value must be a number."""
TEXTUAL = frozenset({"contains", "not_contains", "regex", "starts_with", "ends_with"})
"""Operators that match text: their value must be a string."""
PRESENCE = frozenset({"exists", "not_exists"})
"""Operators that take no value."""
MAX_GROUPS = 20
MAX_RULES = 20
"""Groups per destination, and rules per group, at most."""
MAX_VALUE = 1024
"""Characters a rule's text value may have."""


class Rule(BaseModel):
    """``field operator value``."""

    model_config = ConfigDict(extra="forbid")

    field: Annotated[str, Field(min_length=1, max_length=200, description=f"One of {', '.join(TEXTS + NUMBERS)}, "
                                "or metadata.<key>.")]
    operator: Operator
    value: str | float | int | bool | None = None

    @model_validator(mode="after")
    def _value_fits(self) -> Rule:
        known = known_field(self.field)
        if known is None:
            raise ValueError(f"field: must be one of {', '.join(TEXTS + NUMBERS)}, or metadata.<key>")
        value, operator = self.value, self.operator
        if operator in PRESENCE:
            if value is not None:
                raise ValueError(f"value: {operator} takes no value")
            return self
        if value is None:
            raise ValueError(f"value: required for {operator}")
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if number and not (math.isfinite(float(value)) and abs(float(value)) < 2**63):
            raise ValueError("value: must be a finite number of at most 64 bits")
        if operator in COMPARING:
            if not number:
                raise ValueError(f"value: must be a number for {operator}")
            if known == "text":
                raise ValueError(f"operator: {operator} compares numbers; {self.field} is text")
        elif operator in TEXTUAL and (not isinstance(value, str) or not value):
            raise ValueError(f"value: must be a non-empty string for {operator}")
        if isinstance(value, str) and len(value) > MAX_VALUE:
            raise ValueError(f"value: at most {MAX_VALUE} characters")
        if operator == "regex":
            try:
                re2.compiled(str(value))
            except ValueError as exc:
                raise ValueError(f"value: {exc}") from None
        return self


class Group(BaseModel):
    model_config = ConfigDict(extra="forbid")

    logic: Literal["and", "or"] = "and"
    rules: Annotated[list[Rule], Field(min_length=1, max_length=MAX_RULES)]


class FilterRules(BaseModel):
    """Which traces the destination takes: those for which every group matches (docs/rules-and-redaction.md)."""

    model_config = ConfigDict(extra="forbid")

    enabled: StrictBool = True
    groups: Annotated[list[Group], Field(max_length=MAX_GROUPS)] = []

    @property
    def applies(self) -> bool:
        return self.enabled and bool(self.groups)


def as_route(rules: FilterRules | None) -> dict[str, Any] | None:
    """What ingest keeps of the rules (``routing``): the groups when they apply, else nothing."""
    return rules.model_dump(mode="json")["groups"] if rules is not None and rules.applies else None
