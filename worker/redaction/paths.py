"""``drop_fields`` paths: dotted keys into the stored trace (docs/ingest.md's field names), ``metadata.<key>`` for
a key of the custom metadata. A list on the way applies the rest of the path to each of its items
(``request.messages.name``)."""

from __future__ import annotations

from typing import Any

KEPT = frozenset({"id", "timestamp", "model"})
"""Fields every kind needs to render a trace at all: never dropped."""
ALIASES = {"metadata": "trace", "user_id": "user"}
"""The names filter rules use, for the stored trace's own."""
MAX_PATH = 512


def checked_path(path: str) -> tuple[str, ...]:
    """The path's keys in the stored trace; ValueError naming why a path cannot be dropped."""
    if not path or len(path) > MAX_PATH:
        raise ValueError(f"a path must have 1 to {MAX_PATH} characters")
    parts = path.split(".")
    if any(not part for part in parts):
        raise ValueError(f"{path!r}: empty key (two dots, or a dot at an end)")
    if len(parts) == 1 and parts[0] in KEPT:
        raise ValueError(f"{path!r}: every kind needs {', '.join(sorted(KEPT))}; they cannot be dropped")
    return (ALIASES.get(parts[0], parts[0]), *parts[1:])


def drop(value: Any, path: tuple[str, ...]) -> None:
    """Remove ``path`` from ``value`` in place, wherever it leads (through every item of a list)."""
    if isinstance(value, list):
        for item in value:
            drop(item, path)
    elif isinstance(value, dict) and path[0] in value:
        if len(path) == 1:
            del value[path[0]]
        else:
            drop(value[path[0]], path[1:])
