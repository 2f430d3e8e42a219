"""Bench-only monkeypatches of the worker: what a change would buy, measured before anyone makes it.

Each variant patches worker code in the current process (and so in Celery's forked pool children); nothing on
disk changes. Used by bench/drain_experiments.py (in-process drains) and bench/patched_worker.py (a real
`tracedrop worker` with a variant applied, for ``python -m bench.run --worker-variant NAME``).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from worker.kinds.s3 import writer as delivery
from worker.paths import time_values

Patch = Callable[[], None]


def as_shipped() -> None:
    """No change."""


def cached_key() -> None:
    """object_key memoised per (template, hour, apiKeyName): time_values + Jinja run once per hour and key name."""

    @lru_cache(maxsize=4096)
    def path_for(template: Any, hour: int, api_key_name: str) -> str:
        values = time_values(hour * 3_600_000)
        values["apiKeyName"] = api_key_name
        return str(template.render(values))

    def object_key(template: Any, trace: dict[str, Any]) -> str:
        epoch_ms = trace["timestamp"]
        path = path_for(template, epoch_ms // 3_600_000, trace.get("api_key_name", ""))
        name = f"{trace['id']}-{epoch_ms // 1000}.json"
        return f"{path}/{name}" if path else name

    delivery.object_key = object_key  # type: ignore[assignment]


VARIANTS: dict[str, Patch] = {
    "as shipped": as_shipped,
    "key cached per hour": cached_key,
}
SHORT = {"shipped": "as shipped", "key": "key cached per hour"}
"""Names for the command line."""


def apply(name: str) -> None:
    VARIANTS[SHORT.get(name, name)]()
