"""How many ingest requests an api process works on at once (``TRACEDROP_MAX_INGEST_IN_FLIGHT``): one more is
answered ``503`` with ``Retry-After`` before its body is read, so that under overload a gateway gets a fast answer to
retry on, never a wait that grows with the queue, and the process's memory stays bounded."""

from __future__ import annotations

from types import TracebackType

from api.errors import ApiError

RETRY_AFTER_S = 1


class Admission:
    """A counter entered around each ingest request, on the event loop (so no lock)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.in_flight = 0

    def __enter__(self) -> None:
        if self.in_flight >= self.limit:
            raise ApiError(503, "overloaded", f"this api process works on {self.limit} ingest requests already: "
                           "nothing was stored, try again", headers={"Retry-After": str(RETRY_AFTER_S)})
        self.in_flight += 1

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.in_flight -= 1
