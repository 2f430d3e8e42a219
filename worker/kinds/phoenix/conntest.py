"""The Phoenix connection test proves the key, then the OpenTelemetry endpoint:

1. ``GET {endpoint}/v1/projects?limit=1`` with the key (Phoenix's REST API): a Phoenix with authentication on
   answers 401 for a missing or unknown key (``unauthorized``); a 404 means no Phoenix REST API at the endpoint
   (``not_found``: the address is not a Phoenix's).
2. An empty OTLP export to ``{endpoint}/v1/traces`` with the key: what a delivery does, so a key that may read but
   not write (a viewer's: 403) is ``unauthorized`` too.
"""

from __future__ import annotations

from typing import Any

from worker.kinds.otlp_vendor.conntest import authenticated_get, export_test
from worker.kinds.phoenix.config import PhoenixConfig


def connection_test(config: Any, *, allow_private: bool) -> dict[str, Any]:
    """Return ``{"status": <the export's status>, "project": <the project traces go to>}``, or raise a
    DeliveryError."""
    assert isinstance(config, PhoenixConfig)
    authenticated_get(config, config.projects_url(), allow_private=allow_private,
                      missing="No Phoenix REST API at the endpoint: check it (the address you open Phoenix at, "
                              "with its path on Phoenix Cloud)")
    return {**export_test(config, allow_private=allow_private), "project": config.project}
