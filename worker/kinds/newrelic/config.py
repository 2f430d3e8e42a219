"""The New Relic destination's configuration: a license key and the account's region.

Sent as https://docs.newrelic.com/docs/opentelemetry/best-practices/opentelemetry-otlp/ says: OTLP/HTTP protobuf to
the region's endpoint (``https://otlp.nr-data.net`` in the US, ``https://otlp.eu01.nr-data.net`` in the EU) at
``/v1/traces``, the license key in the ``api-key`` header. ``endpoint`` replaces the region's for New Relic's other
OTLP endpoints (FedRAMP's ``https://gov-otlp.nr-data.net``, an Infinite Tracing trace observer) or a proxy.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, field_validator

from worker.destination import Saved
from worker.kinds.otlp_vendor.config import SecretToken, VendorConfig, base_url

REGIONS = {"us": "https://otlp.nr-data.net", "eu": "https://otlp.eu01.nr-data.net"}
TRACES_PATH = "/v1/traces"


class NewRelicConfig(VendorConfig):
    """A New Relic account's traces."""

    TITLE: ClassVar[str] = "New Relic"
    SUMMARY: ClassVar[str] = "Traces to New Relic's OTLP endpoint with the GenAI conventions, queryable in NRQL."
    SECRETS: ClassVar[tuple[str, ...]] = ("license_key",)
    CONNECTION: ClassVar[frozenset[str]] = frozenset({"license_key", "region", "endpoint"})
    LOCATION: ClassVar[frozenset[str]] = frozenset({"region", "endpoint"})
    CREDENTIALS: ClassVar[str] = ("the license key (an Ingest - License key of the account, from API Keys; a User key "
                                  "is refused) and the region")

    type: Literal["newrelic"]
    license_key: SecretToken = Field(min_length=1, max_length=200, title="License Key",
                                   description="An Ingest - License key of the account (API Keys).")
    region: Literal["us", "eu"] = Field(default="us", title="Region",
                                        description="The account's data center: us or eu.")
    endpoint: str | None = Field(default=None, max_length=2048, title="Endpoint",
                                 description="Replaces the region's endpoint: New Relic FedRAMP "
                                             "(https://gov-otlp.nr-data.net), an Infinite Tracing trace observer, or "
                                             "a proxy. Empty for the region's.")

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, value: str | None) -> str | None:
        return None if value is None else base_url(value, example="https://gov-otlp.nr-data.net")

    def traces_url(self) -> str:
        return (self.endpoint or REGIONS[self.region]) + TRACES_PATH

    def auth(self) -> dict[str, str]:
        return {"api-key": self.license_key.get_secret_value()}


class NewRelicDestination(NewRelicConfig, Saved):
    """A saved New Relic destination."""
