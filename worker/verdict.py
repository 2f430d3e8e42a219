"""What became of one claimed batch, for any kind: delivered, dead-lettered, or owed again (and why)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from worker.errors import DeliveryError, DestinationError, TraceRejected, TransientError


@dataclass
class Verdict:
    """What became of one claimed batch."""

    delivered: list[int] = field(default_factory=list)
    retry: list[int] = field(default_factory=list)
    rejected: list[tuple[int, DeliveryError]] = field(default_factory=list)
    transient: TransientError | None = None
    destination_error: DestinationError | None = None

    def add(self, trace_ids: Iterable[int], error: BaseException | None) -> None:
        """Sort the outcome of writing ``trace_ids`` (``None`` when it succeeded) into the verdict."""
        if error is None:
            self.delivered.extend(trace_ids)
        elif isinstance(error, TraceRejected):
            self.rejected.extend((trace_id, error) for trace_id in trace_ids)
        elif isinstance(error, DestinationError):
            self.destination_error = self.destination_error or error
            self.retry.extend(trace_ids)
        else:
            transient = error if isinstance(error, TransientError) else TransientError(repr(error))
            self.transient = self.transient or transient
            self.retry.extend(trace_ids)
