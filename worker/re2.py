"""Regular expressions in linear time (RE2): every pattern a user writes (filter rules, redaction patterns) and the
redaction detectors. A pattern RE2 cannot take (backreferences, lookaround: what needs backtracking) is refused,
so no pattern can hang ingest or delivery."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache
from typing import AnyStr, Protocol, cast

import re2


class Pattern(Protocol):
    """A compiled RE2 pattern: the part of ``re.Pattern`` tracedrop uses."""

    def search(self, text: AnyStr) -> re.Match[AnyStr] | None: ...

    def finditer(self, text: AnyStr) -> Iterator[re.Match[AnyStr]]: ...

MAX_PATTERN = 1024
"""Characters a user's pattern may have."""
MAX_MEMORY = 8 << 20
"""Bytes RE2 may use to compile one user's pattern (a pattern needing more is refused)."""


def _options(max_mem: int) -> re2.Options:
    options = re2.Options()
    options.log_errors = False
    options.max_mem = max_mem
    return options


@lru_cache(maxsize=1024)
def compiled(pattern: str, *, max_mem: int = MAX_MEMORY) -> Pattern:
    """``pattern`` compiled by RE2; ValueError naming why when RE2 cannot take it."""
    if len(pattern) > MAX_PATTERN:
        raise ValueError(f"at most {MAX_PATTERN} characters")
    try:
        return cast(Pattern, re2.compile(pattern, _options(max_mem)))
    except re2.error as exc:
        reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise ValueError(f"not a pattern RE2 takes (linear-time, no backreferences or lookaround): {reason}") from None
