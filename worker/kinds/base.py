"""What a destination kind provides to the shared parts (the admin API, the outbox and the delivery loop)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict

from worker.destination import DestinationConfig, Saved
from worker.outbox import Claimed
from worker.verdict import Verdict


class Writer(Protocol):
    """Delivers claimed traces of one kind's destinations. One per worker process, shared by its threads."""

    def claim_limit(self, destination: Saved) -> int:
        """How many traces to claim at once for ``destination``; 0 for the runtime's default."""

    def deliver(self, destination: Saved, claimed: list[Claimed]) -> Verdict:
        """Write ``claimed``; never raise for a failure of the destination, return it in the verdict."""


class ConnectionTest(Protocol):
    def __call__(self, config: Any, *, allow_private: bool) -> dict[str, Any]:
        """Raise a DeliveryError with one of the kind's test codes, or return what the test did (for the answer)."""


class PreviewRequest(BaseModel):
    """A kind's preview request: where a sample trace would go with the settings given (the settings page shows it
    while a form is filled in). Invalid settings are refused by validation, naming their field."""

    model_config = ConfigDict(extra="forbid")

    def answer(self) -> dict[str, Any]:
        raise NotImplementedError


@dataclass(frozen=True)
class Kind:
    name: str
    config: type[DestinationConfig]
    destination: type[Saved]
    connection_test: ConnectionTest
    writer: Callable[..., Writer]
    """Called with ``allow_private``."""
    preview: type[PreviewRequest] | None = None
    """The request body of ``POST .../destinations/preview-key`` for this kind, if it offers a preview."""
    render: Callable[[Saved, dict[str, Any]], Any] | None = None
    """What the kind's writer sends for one (redacted) stored trace, as a ``worker.preview.Rendered``, for
    ``POST .../destinations/{id}/preview``; without it, ``worker.preview.default_render``."""

