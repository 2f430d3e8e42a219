"""The Arize Phoenix destination's configuration: where the Phoenix is, its API key when it has authentication on,
and the project to file traces under.

Sent as Phoenix documents it (https://arize.com/docs/phoenix, "Authentication" in its self-hosting guide): OTLP/HTTP
protobuf to ``{endpoint}/v1/traces``, ``Authorization: Bearer <api key>`` when a key is given, the project as the
resource attribute ``openinference.project.name``.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import AfterValidator, Field, SecretStr, field_validator

from worker.destination import Saved
from worker.kinds.otlp_vendor.config import VendorConfig, base_url, token
from worker.otlp import openinference
from worker.otlp.common import Attribute

TRACES_PATH = "/v1/traces"
PROJECTS_PATH = "/v1/projects"
DEFAULT_PROJECT = "default"
"""Phoenix's own default project."""


def _printable(value: str) -> str:
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value) or not value.strip():
        raise ValueError("must be printable text")
    return value


def _header_safe(value: SecretStr) -> SecretStr:
    token(value.get_secret_value())
    return value


Project = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_printable)]
"""A project's name (Phoenix's or Arize AX's): printable text, which travels in a protobuf string and names a page."""
HeaderKey = Annotated[SecretStr, Field(min_length=1, max_length=2000), AfterValidator(_header_safe)]
"""An API key that travels in a header: no spaces, colons or control characters."""


class PhoenixConfig(VendorConfig):
    """A Phoenix, self-hosted or Phoenix Cloud (the space's address, e.g. https://app.phoenix.arize.com/s/<space>)."""

    TITLE: ClassVar[str] = "Arize Phoenix"
    SUMMARY: ClassVar[str] = ("Traces as OpenInference LLM spans, with tokens, cost, messages, user and session, in a "
                              "Phoenix project.")
    SECRETS: ClassVar[tuple[str, ...]] = ("api_key",)
    CONNECTION: ClassVar[frozenset[str]] = frozenset({"endpoint", "api_key"})
    LOCATION: ClassVar[frozenset[str]] = frozenset({"endpoint"})
    DIALECT: ClassVar[str] = openinference.NAME
    CREDENTIALS: ClassVar[str] = ("the API key (a Phoenix system or user API key, from Settings > API Keys; a key "
                                  "whose user is a viewer may read but not send traces)")

    type: Literal["phoenix"]
    endpoint: str = Field(max_length=2048, title="Endpoint",
                          description="The address you open Phoenix at, e.g. http://phoenix.internal:6006 (a "
                                      "trailing /v1/traces is dropped).")
    api_key: HeaderKey | None = Field(default=None, title="API Key",
                                      description="Needed when Phoenix has authentication on; sent as a Bearer "
                                                  "token.")
    project: Project = Field(default=DEFAULT_PROJECT, title="Project",
                             description="The Phoenix project traces are filed under (created with the first one).")

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, value: str) -> str:
        url = base_url(value, example="http://phoenix.internal:6006")
        return url[:-len(TRACES_PATH)] if url.endswith(TRACES_PATH) else url

    def traces_url(self) -> str:
        return self.endpoint + TRACES_PATH

    def projects_url(self) -> str:
        return self.endpoint + PROJECTS_PATH + "?limit=1"

    def auth(self) -> dict[str, str]:
        return {} if self.api_key is None else {"Authorization": "Bearer " + self.api_key.get_secret_value()}

    def resource(self) -> list[Attribute]:
        return [(openinference.PROJECT, self.project)]


class PhoenixDestination(PhoenixConfig, Saved):
    """A saved Phoenix destination."""
