"""The Datadog destination's configuration: an API key, the Datadog site's API address, and the ML app traces are
filed under.

Sent as Datadog's LLM Observability HTTP API reference says (https://docs.datadoghq.com/llm_observability/
instrumentation/api/): JSON to ``{url}/api/intake/llm-obs/v1/trace/spans`` with ``DD-API-KEY``; Datadog answers 202.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar, Literal

import orjson
from pydantic import Field, field_validator

from worker.destination import DestinationConfig, Saved
from worker.kinds.datadog import spans
from worker.kinds.otlp_vendor.config import SecretToken, base_url
from worker.kinds.webhook.target import Target

SPANS_PATH = "/api/intake/llm-obs/v1/trace/spans"
VALIDATE_PATH = "/api/v1/validate"
BATCH_SIZE = 50
"""Spans per request (a request Datadog refuses for its size is split, one trace per request)."""
_ML_APP = re.compile(r"^(?!.*__)(?!.*_$)[a-z0-9_\-:./]+$")
"""Datadog's application naming guidelines (the HTTP API reference): lowercase alphanumerics, '_', '-', ':', '.' and
'/', no contiguous or trailing underscores."""


class DatadogConfig(DestinationConfig):
    """A Datadog organization's LLM Observability, on one Datadog site."""

    TITLE: ClassVar[str] = "Datadog"
    SUMMARY: ClassVar[str] = "Traces as LLM spans of Datadog LLM Observability, with messages, tokens, cost and tags."
    SECRETS: ClassVar[tuple[str, ...]] = ("api_key",)
    CONNECTION: ClassVar[frozenset[str]] = frozenset({"api_key", "url"})
    LOCATION: ClassVar[frozenset[str]] = frozenset({"url"})
    CREDENTIALS: ClassVar[str] = "the API key (Organization Settings > API Keys, on the site the URL names)"

    type: Literal["datadog"]
    api_key: SecretToken = Field(
        min_length=1, max_length=200, title="API Key", description="A Datadog API key (Organization Settings > API "
                                                                   "Keys).")
    ml_app: Annotated[str, Field(min_length=1, max_length=193, title="ML App",
                                 description="The LLM application traces are filed under (e.g. production-app): "
                                             "lowercase letters, digits, '_', '-', ':', '.', '/'.")]
    url: str = Field(default="https://api.us5.datadoghq.com", max_length=2048, title="URL",
                     description="Your Datadog site's API: https://api.us5.datadoghq.com (US5), "
                                 "https://api.datadoghq.com (US1), https://api.datadoghq.eu (EU), ...")

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return base_url(value, example="https://api.us5.datadoghq.com")

    @field_validator("ml_app")
    @classmethod
    def _ml_app(cls, value: str) -> str:
        if not _ML_APP.fullmatch(value):
            raise ValueError("must be lowercase letters, digits, '_', '-', ':', '.' and '/', without '__' or a "
                             "trailing '_'")
        return value

    def auth(self) -> dict[str, str]:
        return {"DD-API-KEY": self.api_key.get_secret_value()}

    def target(self) -> Target:
        headers = {**self.auth(), "Content-Type": "application/json"}

        def encode(traces: list[dict[str, Any]]) -> bytes:
            return orjson.dumps(spans.body(traces, ml_app=self.ml_app, privacy_mode=self.privacy_mode))

        return Target(method="POST", url=self.url + SPANS_PATH, batch_size=BATCH_SIZE, encode=encode,
                      empty=encode([]), headers=lambda _body, _testing: headers, credentials=self.CREDENTIALS)


class DatadogDestination(DatadogConfig, Saved):
    """A saved Datadog destination."""
