"""Bench-only monkeypatches of the worker: what a change would buy, measured before anyone makes it.

Each variant patches worker code in the current process (and so in Celery's forked pool children); nothing on
disk changes. Used by bench/drain_experiments.py (in-process drains) and bench/patched_worker.py (a real
`tracedrop worker` with a variant applied, for ``python -m bench.run --worker-variant NAME``).
"""

from __future__ import annotations

from collections.abc import Callable

Patch = Callable[[], None]


def as_shipped() -> None:
    """No change."""


VARIANTS: dict[str, Patch] = {
    "as shipped": as_shipped,
}
SHORT = {"shipped": "as shipped"}
"""Names for the command line."""


def apply(name: str) -> None:
    VARIANTS[SHORT.get(name, name)]()
