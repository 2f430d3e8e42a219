"""Bench-only monkeypatches of the worker: what a change would buy, measured before anyone makes it.

Each variant patches worker code in the current process (and so in Celery's forked pool children); nothing on
disk changes. Used by bench/drain_experiments.py (in-process drains) and bench/patched_worker.py (a real
`tracedrop worker` with a variant applied, for ``python -m bench.run --worker-variant NAME``).
"""

from __future__ import annotations

from collections.abc import Callable

from worker import runtime
from worker.kinds.s3 import writer as s3_writer

Patch = Callable[[], None]


def as_shipped() -> None:
    """No change."""


def one_lane() -> None:
    """A task drains a destination on one lane at a time (claim, write, record, then the next claim)."""
    runtime.LANES_PER_TASK = 1


def one_lane_claims_of_1000() -> None:
    """One lane per task, 1,000 traces per S3 claim instead of 256 (the claim's tail spread over more traces)."""
    one_lane()
    s3_writer.TRACES_PER_CLAIM = 1000


VARIANTS: dict[str, Patch] = {
    "as shipped": as_shipped,
    "one lane per task": one_lane,
    "one lane, claims of 1000": one_lane_claims_of_1000,
}
SHORT = {"shipped": "as shipped", "one-lane": "one lane per task", "one-lane-1000": "one lane, claims of 1000"}
"""Names for the command line."""


def apply(name: str) -> None:
    VARIANTS[SHORT.get(name, name)]()
