"""The Langfuse connection test proves the keys, then the OpenTelemetry endpoint:

1. ``GET {base_url}/api/public/projects`` with the keys: Langfuse answers the keys' project (200), or 401 for keys
   it does not know (``unauthorized``); a 404 means no Langfuse API at the base URL (``not_found``).
2. An empty OTLP export to ``{base_url}/api/public/otel/v1/traces``: a 404 here is a Langfuse without the
   OpenTelemetry endpoint (self-hosted before 3.22: ``not_found``).
"""

from __future__ import annotations

from typing import Any

import orjson

from worker.errors import DeliveryError, DestinationError
from worker.kinds.langfuse.config import LangfuseConfig
from worker.kinds.otlp_vendor.conntest import authenticated_get, export_test


def connection_test(config: Any, *, allow_private: bool) -> dict[str, Any]:
    """Return ``{"status": <the export's status>, "project": <name>}``, or raise a DeliveryError."""
    assert isinstance(config, LangfuseConfig)
    answer = authenticated_get(config, config.projects_url(), allow_private=allow_private,
                               missing="No Langfuse API at the base URL: check it (the address you open Langfuse "
                                       "at, without a path)")
    project = _project(answer.body)
    try:
        exported = export_test(config, allow_private=allow_private)
    except DeliveryError as exc:
        if exc.code == "not_found":
            raise DestinationError("This Langfuse has no OpenTelemetry endpoint (self-hosted Langfuse before 3.22): "
                                   f"upgrade it. ({exc})", code="not_found") from exc
        raise
    return {**exported, "project": project}


def _project(body: bytes) -> str | None:
    """The project's name in Langfuse's answer (``{"data": [{"id", "name", ...}]}``), if it says one."""
    try:
        projects = orjson.loads(body).get("data") or []
        return str(projects[0]["name"])
    except (orjson.JSONDecodeError, AttributeError, LookupError, TypeError):
        return None
