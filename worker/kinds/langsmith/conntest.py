"""The LangSmith connection test proves the API key, then the OpenTelemetry endpoint:

1. ``GET {endpoint}/sessions?name=<project>&limit=1`` with the key (how LangSmith's SDK reads a project by name):
   401 or 403 is ``unauthorized``; a 404 means no LangSmith API at the endpoint (``not_found``). A project that does
   not exist yet is no failure: LangSmith creates it with the first trace.
2. An empty OTLP export to ``{endpoint}/otel/v1/traces``, with the project header.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import orjson

from worker.kinds.langsmith.config import LangSmithConfig
from worker.kinds.otlp_vendor.conntest import authenticated_get, export_test


def connection_test(config: Any, *, allow_private: bool) -> dict[str, Any]:
    """Return ``{"status": <the export's status>, "project": <name>, "project_exists": <bool>}``, or raise a
    DeliveryError."""
    assert isinstance(config, LangSmithConfig)
    url = config.projects_url() + "?" + urlencode({"name": config.project, "limit": 1})
    answer = authenticated_get(config, url, allow_private=allow_private,
                               missing="No LangSmith API at the endpoint: check it (https://api.smith.langchain.com, "
                                       "or a self-hosted LangSmith's API URL ending in /api/v1)")
    return {**export_test(config, allow_private=allow_private), "project": config.project,
            "project_exists": _found(answer.body, config.project)}


def _found(body: bytes, project: str) -> bool:
    """Whether LangSmith's answer (a list of projects, ``[{"id", "name", ...}]``) holds ``project``."""
    try:
        projects = orjson.loads(body)
        return any(isinstance(p, dict) and p.get("name") == project for p in projects)
    except (orjson.JSONDecodeError, TypeError):
        return False
