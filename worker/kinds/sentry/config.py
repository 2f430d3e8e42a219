"""The Sentry destination's configuration: the project's OTLP traces endpoint and its DSN.

Sent as https://docs.sentry.io/concepts/otlp/direct/traces/ says: OTLP/HTTP to the "OTLP Traces Endpoint" of the
project's Client Keys (DSN) page, with ``x-sentry-auth: sentry sentry_key=<public key>``. The public key is the DSN's
user part (https://develop.sentry.dev/sdk/overview/#parsing-the-dsn:
``{PROTOCOL}://{PUBLIC_KEY}:{SECRET_KEY}@{HOST}{PATH}/{PROJECT_ID}``, the secret key long deprecated).
"""

from __future__ import annotations

import re
from typing import ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator

from worker.destination import Saved, check_url
from worker.kinds.otlp_vendor.config import VendorConfig

_PUBLIC_KEY = re.compile(r"^[0-9A-Za-z]+$")
_PROJECT_ID = re.compile(r"^[0-9]+$")
DSN_EXAMPLE = "https://<public key>@o123.ingest.us.sentry.io/456"


def public_key(dsn: str) -> str:
    """A DSN's public key; ValueError unless ``dsn`` has a DSN's shape."""
    try:
        parts = urlsplit(dsn)
    except ValueError:  # an IPv6 host not closed
        parts = urlsplit("")
    project = parts.path.rstrip("/").rpartition("/")[2]
    if parts.scheme not in ("http", "https") or not parts.hostname or not _PUBLIC_KEY.fullmatch(parts.username or "") \
            or not _PROJECT_ID.fullmatch(project) or parts.query or parts.fragment:
        raise ValueError(f"must be a Sentry DSN such as {DSN_EXAMPLE} (Settings > Projects > your project > "
                         "Client Keys (DSN))")
    return str(parts.username)


class SentryConfig(VendorConfig):
    """A Sentry project's traces."""

    TITLE: ClassVar[str] = "Sentry"
    SUMMARY: ClassVar[str] = "Traces to a Sentry project's OTLP endpoint with the GenAI conventions."
    SECRETS: ClassVar[tuple[str, ...]] = ("dsn",)
    CONNECTION: ClassVar[frozenset[str]] = frozenset({"otlp_endpoint", "dsn"})
    LOCATION: ClassVar[frozenset[str]] = frozenset({"otlp_endpoint"})
    CREDENTIALS: ClassVar[str] = ("the DSN (the project's Client Keys (DSN) page: the key must be enabled, and of the "
                                  "project the OTLP Traces Endpoint is for)")

    type: Literal["sentry"]
    otlp_endpoint: str = Field(max_length=2048, title="OTLP Traces Endpoint",
                               description="From the project's Client Keys (DSN) page, OpenTelemetry tab: "
                                           "https://o123.ingest.us.sentry.io/api/456/integration/otlp/v1/traces.")
    dsn: SecretStr = Field(min_length=1, max_length=2048, title="DSN",
                           description="The project's DSN, https://<public key>@o123.ingest.us.sentry.io/456.")

    @field_validator("otlp_endpoint")
    @classmethod
    def _otlp_endpoint(cls, value: str) -> str:
        return check_url(value, example="https://o123.ingest.us.sentry.io/api/456/integration/otlp/v1/traces",
                         query=False, userinfo="put the DSN in its field")

    @field_validator("dsn")
    @classmethod
    def _dsn(cls, value: SecretStr) -> SecretStr:
        public_key(value.get_secret_value())
        return value

    def traces_url(self) -> str:
        return self.otlp_endpoint

    def auth(self) -> dict[str, str]:
        return {"x-sentry-auth": f"sentry sentry_key={public_key(self.dsn.get_secret_value())}"}


class SentryDestination(SentryConfig, Saved):
    """A saved Sentry destination."""
