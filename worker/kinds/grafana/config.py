"""The Grafana Cloud destination's configuration: the stack's OTLP gateway, its instance ID and an access policy
token.

Sent as https://grafana.com/docs/grafana-cloud/send-data/otlp/send-data-otlp/ says: OTLP/HTTP to the gateway's
``/otlp/v1/traces`` with ``Authorization: Basic base64(instance_id:api_key)``.
"""

from __future__ import annotations

import base64
import re
from typing import Annotated, ClassVar, Literal

from pydantic import Field, SecretStr, field_validator

from worker.destination import Saved
from worker.kinds.otlp_vendor.config import VendorConfig, base_url

OTLP_ROOT = "/otlp"
TRACES_PATH = "/v1/traces"
_INSTANCE_ID = re.compile(r"^[0-9]{1,20}$")


class GrafanaConfig(VendorConfig):
    """A Grafana Cloud stack's traces."""

    TITLE: ClassVar[str] = "Grafana Cloud"
    SUMMARY: ClassVar[str] = "Traces to Grafana Cloud Traces (Tempo) with the GenAI conventions, queryable in TraceQL."
    SECRETS: ClassVar[tuple[str, ...]] = ("api_key",)
    CONNECTION: ClassVar[frozenset[str]] = frozenset({"base_url", "instance_id", "api_key"})
    LOCATION: ClassVar[frozenset[str]] = frozenset({"base_url"})
    CREDENTIALS: ClassVar[str] = ("the instance ID and the API key (the stack's OpenTelemetry instance ID, and a Cloud "
                                  "Access Policy token with the traces:write scope)")

    type: Literal["grafana"]
    base_url: str = Field(max_length=2048, title="Base URL",
                          description="The stack's OTLP gateway (its OpenTelemetry tile), such as "
                                      "https://otlp-gateway-prod-us-west-0.grafana.net, with or without /otlp; not "
                                      "the Grafana URL.")
    instance_id: Annotated[str, Field(min_length=1, max_length=20, title="Instance ID",
                                      description="The numeric instance ID on the stack's OpenTelemetry tile.")]
    api_key: SecretStr = Field(min_length=1, max_length=2048, title="API Key",
                               description="glc_..., a Cloud Access Policy token with the traces:write scope.")

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        return base_url(value, example="https://otlp-gateway-prod-us-west-0.grafana.net")

    @field_validator("instance_id")
    @classmethod
    def _instance_id(cls, value: str) -> str:
        if not _INSTANCE_ID.fullmatch(value):
            raise ValueError("must be the numeric instance ID (digits only), such as 123456")
        return value

    def traces_url(self) -> str:
        root = self.base_url if self.base_url.endswith(OTLP_ROOT) else self.base_url + OTLP_ROOT
        return root + TRACES_PATH

    def auth(self) -> dict[str, str]:
        pair = f"{self.instance_id}:{self.api_key.get_secret_value()}".encode()
        return {"Authorization": "Basic " + base64.b64encode(pair).decode()}


class GrafanaDestination(GrafanaConfig, Saved):
    """A saved Grafana Cloud destination."""
