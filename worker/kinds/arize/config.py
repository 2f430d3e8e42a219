"""The Arize AX destination's configuration: a space's API key and id, and the project to file traces under.

Sent as Arize's own OpenTelemetry exporter sends it (github.com/Arize-ai/arize-otel-python, ``arize.otel``:
``_get_arize_auth_headers``): OTLP/HTTP protobuf to ``{base_url}/v1/traces`` (the OTLP/HTTP traces path under the
collector's base, https://otlp.arize.com by default) with ``authorization`` and ``api_key`` (the API key),
``arize-space-id`` and ``space_id`` (the space), and ``arize-interface: otel``; the project as the resource attribute
``openinference.project.name`` (https://arize.com/docs/ax/concepts/otel-openinference/resource, "Arize AX-Specific
Resource Attributes").
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field, field_validator

from worker.destination import Saved
from worker.kinds.otlp_vendor.config import VendorConfig, base_url, token
from worker.kinds.phoenix.config import TRACES_PATH, HeaderKey, Project
from worker.otlp import openinference
from worker.otlp.common import Attribute

INTERFACE = "otel"
"""``arize-interface``: what Arize's exporter says it is."""


class ArizeConfig(VendorConfig):
    """An Arize AX space's project."""

    TITLE: ClassVar[str] = "Arize AX"
    SUMMARY: ClassVar[str] = "Traces as OpenInference LLM spans in an Arize AX project, with the space's key and ID."
    SECRETS: ClassVar[tuple[str, ...]] = ("api_key",)
    CONNECTION: ClassVar[frozenset[str]] = frozenset({"api_key", "space_key", "base_url"})
    LOCATION: ClassVar[frozenset[str]] = frozenset({"base_url"})
    DIALECT: ClassVar[str] = openinference.NAME
    CREDENTIALS: ClassVar[str] = "the API key and the space key (both from the space's settings)"

    type: Literal["arize"]
    api_key: HeaderKey = Field(title="API Key", description="From Arize AX: Space Settings > API Keys.")
    space_key: Annotated[str, Field(min_length=1, max_length=200, title="Space Key",
                                    description="The space's ID, from Arize AX's Space Settings.")]
    project: Project = Field(title="Project Name", description="The Arize AX tracing project traces are filed under.")
    base_url: str = Field(default="https://otlp.arize.com", max_length=2048, title="Base URL",
                          description="Arize's OTLP collector: https://otlp.arize.com, or "
                                      "https://otlp.eu-west-1a.arize.com for the EU.")

    @field_validator("space_key")
    @classmethod
    def _space_key(cls, value: str) -> str:
        return token(value)

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        return base_url(value, example="https://otlp.arize.com")

    def traces_url(self) -> str:
        return self.base_url + TRACES_PATH

    def auth(self) -> dict[str, str]:
        key = self.api_key.get_secret_value()
        return {"authorization": key, "api_key": key, "arize-space-id": self.space_key, "space_id": self.space_key,
                "arize-interface": INTERFACE}

    def resource(self) -> list[Attribute]:
        return [(openinference.PROJECT, self.project)]


class ArizeDestination(ArizeConfig, Saved):
    """A saved Arize AX destination."""
