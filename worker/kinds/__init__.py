"""Destination kinds, by their ``type``: each is a subpackage with its config, connection test, writer and error
mapping. Everything else (the outbox, the delivery loop, destination health, the admin API) is kind-blind."""

from __future__ import annotations

from typing import Any

from worker.destination import DestinationConfig, Saved
from worker.kinds import (
    arize,
    datadog,
    grafana,
    langfuse,
    langsmith,
    mlflow,
    newrelic,
    phoenix,
    postgres,
    posthog,
    s3,
    sentry,
    webhook,
)
from worker.kinds.base import Kind

KINDS: dict[str, Kind] = {kind.name: kind for kind in (s3.KIND, webhook.KIND, langfuse.KIND, phoenix.KIND,
                                                       arize.KIND, mlflow.KIND, langsmith.KIND, grafana.KIND,
                                                       newrelic.KIND, sentry.KIND, datadog.KIND, posthog.KIND,
                                                       postgres.KIND)}
DEFAULT = "s3"
"""The kind of a destination whose ``type`` is left out."""


class UnknownKind(ValueError):
    pass


def kind_named(name: Any) -> Kind:
    try:
        return KINDS[name]
    except (KeyError, TypeError):
        raise UnknownKind(f"must be one of {', '.join(sorted(KINDS))}") from None


def kind_of(data: dict[str, Any]) -> Kind:
    return kind_named(data.get("type", DEFAULT))


def config(data: dict[str, Any]) -> DestinationConfig:
    """A destination body validated by its kind's config model (pydantic's ValidationError if it is refused)."""
    return kind_of(data).config.model_validate(data)


def from_stored(data: dict[str, Any], *, secret_key: str) -> Saved:
    return kind_of(data).destination.from_stored(data, secret_key=secret_key)


def connection_test(config: DestinationConfig, *, allow_private: bool) -> dict[str, Any]:
    return kind_named(config.type).connection_test(config, allow_private=allow_private)
