"""Filter rules compiled once into a ``Filter``: each rule a predicate over a stored trace.

How a rule compares (docs/rules-and-redaction.md): a field the trace does not carry (or carries as null) matches
``not_exists`` and the negative operators (``not_equals``, ``not_contains``), which are exactly the negation of
their positive ones, and nothing else. Text operators ignore case (Unicode case folding); ``regex`` is RE2 as
written (``(?i)`` for case-insensitive). With a number, ``equals`` compares numbers (a string field that reads as
one included); ``gt``/``lt``/``gte``/``lte`` compare numbers only.
"""

from __future__ import annotations

import operator as ops
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from worker import re2
from worker.rules.fields import as_number, as_text, reader

Predicate = Callable[[Any], bool]
_COMPARE = {"gt": ops.gt, "lt": ops.lt, "gte": ops.ge, "lte": ops.le}
_NEGATED = {"not_equals": "equals", "not_contains": "contains", "not_exists": "exists"}


def _fold(value: Any) -> str:
    text = as_text(value)
    return text.lower() if text.isascii() else text.casefold()  # the same for ASCII, and several times faster


def _utf8(value: Any) -> bytes:
    return as_text(value).encode()


FORMS: dict[str, Callable[[Any], Any]] = {"raw": lambda v: v, "fold": _fold, "number": as_number, "utf8": _utf8}
"""What a rule compares: the value as it is, its case-folded text, its number, or its text in UTF-8 (RE2's own
form). Each is computed once per trace and field, however many rules read it."""


def _positive(operator: str, value: Any) -> tuple[str, Predicate]:
    """The form of a present (non-null) field value a positive operator reads, and its test on that form."""
    if operator == "exists":
        return "raw", lambda _: True
    if operator in _COMPARE:
        compare, bound = _COMPARE[operator], float(value)
        return "number", lambda n: n is not None and compare(n, bound)
    if operator == "equals" and isinstance(value, int | float) and not isinstance(value, bool):
        bound = float(value)
        return "number", lambda n: n == bound
    if operator == "regex":
        pattern = re2.compiled(value)
        return "utf8", lambda text: pattern.search(text) is not None
    wanted = _fold(value)
    test = {"equals": str.__eq__, "contains": str.__contains__, "starts_with": str.startswith,
            "ends_with": str.endswith}[operator]
    return "fold", lambda text: test(text, wanted)


@dataclass(frozen=True)
class Rule:
    path: str
    """Where the rule is in ``filter_rules`` (``filter_rules.groups[1].rules[0]``)."""
    read: Callable[[dict[str, Any]], Any]
    form: str
    test: Predicate
    negated: bool

    def matches(self, trace: dict[str, Any], cache: dict[Any, Any]) -> bool:
        if self.read not in cache:
            cache[self.read] = self.read(trace)
        value = cache[self.read]
        if value is None:
            return self.negated
        key = (self.read, self.form)
        if key not in cache:
            cache[key] = FORMS[self.form](value)
        return self.test(cache[key]) is not self.negated


@dataclass(frozen=True)
class Group:
    path: str
    any: bool
    rules: tuple[Rule, ...]


@dataclass(frozen=True)
class Decision:
    taken: bool
    by: str | None
    """What decided (``filter_rules.groups[1].rules[0]``, ``sampling_rate``, ...); None when nothing refused a
    trace that was taken."""


TAKEN = Decision(True, None)


class Filter:
    """Every group must match; within a group, every rule (``and``) or one of them (``or``)."""

    def __init__(self, groups: list[dict[str, Any]]) -> None:
        readers: dict[str, Callable[[dict[str, Any]], Any]] = {}
        self.groups = tuple(
            Group(f"filter_rules.groups[{g}]", group.get("logic") == "or",
                  tuple(_rule(f"filter_rules.groups[{g}].rules[{r}]", rule, readers)
                        for r, rule in enumerate(group["rules"])))
            for g, group in enumerate(groups))

    def decide(self, trace: dict[str, Any]) -> Decision:
        cache: dict[Any, Any] = {}
        for group in self.groups:
            if group.any:
                if not any(rule.matches(trace, cache) for rule in group.rules):
                    return Decision(False, group.path)
            else:
                for rule in group.rules:
                    if not rule.matches(trace, cache):
                        return Decision(False, rule.path)
        return TAKEN


def _rule(path: str, rule: dict[str, Any], readers: dict[str, Callable[[dict[str, Any]], Any]]) -> Rule:
    operator = rule["operator"]
    positive = _NEGATED.get(operator, operator)
    read = readers.setdefault(rule["field"], reader(rule["field"]))
    form, test = _positive(positive, rule.get("value"))
    return Rule(path, read, form, test, negated=operator in _NEGATED)
