"""The Langfuse destination's configuration: a project's keys, where its Langfuse is, and the environment to file
traces under.

Sent as https://langfuse.com/integrations/native/opentelemetry says: OTLP/HTTP protobuf to
``{base_url}/api/public/otel/v1/traces`` with ``Authorization: Basic base64(public_key:secret_key)``, and
``x-langfuse-ingestion-version: 4``, which Langfuse's API reference asks of direct OpenTelemetry exporters.
"""

from __future__ import annotations

import base64
import re
from typing import Annotated, ClassVar, Literal

from pydantic import Field, SecretStr, field_validator

from worker.destination import Saved
from worker.kinds.otlp_vendor.config import VendorConfig, base_url, token
from worker.otlp import langfuse
from worker.otlp.common import Attribute

TRACES_PATH = "/api/public/otel/v1/traces"
PROJECTS_PATH = "/api/public/projects"
INGESTION_VERSION = "4"
_ENVIRONMENT = re.compile(r"^(?!langfuse)[a-z0-9_-]+$")
"""Langfuse's rule for an environment's name: lowercase letters, digits, '-' and '_', not starting with
'langfuse' (https://langfuse.com/docs/observability/features/environments)."""


class LangfuseConfig(VendorConfig):
    """A Langfuse project, cloud or self-hosted (3.22 or later: earlier versions have no OpenTelemetry endpoint)."""

    TITLE: ClassVar[str] = "Langfuse"
    SUMMARY: ClassVar[str] = "Traces as Langfuse generations, with usage, cost, user and session, cloud or self-hosted."
    SECRETS: ClassVar[tuple[str, ...]] = ("secret_key",)
    CONNECTION: ClassVar[frozenset[str]] = frozenset({"public_key", "secret_key", "base_url"})
    LOCATION: ClassVar[frozenset[str]] = frozenset({"base_url"})
    DIALECT: ClassVar[str] = langfuse.NAME
    CREDENTIALS: ClassVar[str] = "the public and secret keys (a pair from the same project's API keys)"

    type: Literal["langfuse"]
    public_key: Annotated[str, Field(min_length=1, max_length=200, title="Public Key",
                                     description="pk-lf-..., from the project's settings (API Keys).")]
    secret_key: SecretStr = Field(min_length=1, max_length=200, title="Secret Key",
                                  description="sk-lf-..., created with the public key.")
    base_url: str = Field(default="https://us.cloud.langfuse.com", max_length=2048, title="Base URL",
                          description="https://us.cloud.langfuse.com (US), https://cloud.langfuse.com (EU), or "
                                      "your own Langfuse's address.")
    environment: str | None = Field(default=None, max_length=40, title="Environment",
                                    description="Files traces under this Langfuse environment (e.g. production); "
                                                "Langfuse's default when empty.")

    @field_validator("public_key")
    @classmethod
    def _public_key(cls, value: str) -> str:
        return token(value)

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        return base_url(value, example="https://cloud.langfuse.com")

    @field_validator("environment")
    @classmethod
    def _environment(cls, value: str | None) -> str | None:
        if value is not None and not _ENVIRONMENT.fullmatch(value):
            raise ValueError("must be lowercase letters, digits, '-' and '_', not starting with 'langfuse'")
        return value

    def traces_url(self) -> str:
        return self.base_url + TRACES_PATH

    def projects_url(self) -> str:
        return self.base_url + PROJECTS_PATH

    def auth(self) -> dict[str, str]:
        pair = f"{self.public_key}:{self.secret_key.get_secret_value()}".encode()
        return {"Authorization": "Basic " + base64.b64encode(pair).decode(),
                "x-langfuse-ingestion-version": INGESTION_VERSION}

    def resource(self) -> list[Attribute]:
        return langfuse.environment(self.environment)

    def common(self) -> list[Attribute]:
        return langfuse.environment(self.environment)


class LangfuseDestination(LangfuseConfig, Saved):
    """A saved Langfuse destination."""
