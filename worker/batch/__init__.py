"""Batch mode: a kind's destinations may write periodic files of records instead of one write per trace.

It is a capability a kind offers, and this package names no kind. A kind offers it with a destination config that
is a ``BatchDestination`` (its cycle, file size, format and where files go) and a writer that is a ``FileWriter``
(how one file is put); the machinery here does the rest: export cycles and manifests in Redis (``outbox``), one
cycle (``export``), records (``record``), file formats (``files``, ``parquet``) and the Celery tasks (``tasks``).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from worker.redaction.redact import Redactor


class Put(Protocol):
    def __call__(self, *, key: str, body: bytes, content_type: str) -> None:
        """Write one whole file at ``key``; raise a DeliveryError (worker/errors.py) when it cannot be written."""


@runtime_checkable
class BatchDestination(Protocol):
    """A saved destination that can run in batch mode (``delivery_mode == "batch"`` when it does)."""

    id: str
    privacy_mode: bool
    every: int
    """Seconds between export cycles."""
    limit: int
    """Records per file at most."""
    format: str
    """One of worker/batch/files.py FORMATS."""

    @property
    def delivery_mode(self) -> str: ...

    @property
    def redactor(self) -> Redactor | None:
        """What the destination's redaction does to a stored trace (worker/redaction/outgoing.py)."""

    @property
    def file_location(self) -> str:
        """Where files go: destinations with the same location number files of one second together."""

    def file_path(self, now_ms: int) -> str:
        """The folder (key prefix) of a file written at ``now_ms``."""

    def named(self) -> dict[str, str]:
        """Who it is, for a log line (worker/destination.py)."""


@runtime_checkable
class FileWriter(Protocol):
    def file_put(self, destination: BatchDestination) -> Put:
        """What files of ``destination`` are written with."""
