"""The PostHog destination's configuration: a project's API key and the PostHog it lives in.

Sent as PostHog's capture API says (https://posthog.com/docs/api/capture, "Batch events"): JSON to
``{host}/batch/``, the project API key in the body (``api_key``), every trace one ``$ai_generation`` event.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import orjson
from pydantic import Field, field_validator

from worker.destination import DestinationConfig, Saved
from worker.kinds.otlp_vendor.config import SecretToken, base_url
from worker.kinds.posthog import events
from worker.kinds.webhook.target import Target

BATCH_PATH = "/batch/"
FLAGS_PATH = "/flags?v=2"
BATCH_SIZE = 100
"""Events per request (PostHog takes up to 20 MB a request; one it refuses for its size is split, a trace per
request)."""
HEADERS = {"Content-Type": "application/json"}


class PostHogConfig(DestinationConfig):
    """A PostHog project, cloud or self-hosted."""

    TITLE: ClassVar[str] = "PostHog"
    SUMMARY: ClassVar[str] = "Traces as $ai_generation events of PostHog LLM analytics, with tokens, cost and sessions."
    SECRETS: ClassVar[tuple[str, ...]] = ("api_key",)
    CONNECTION: ClassVar[frozenset[str]] = frozenset({"api_key", "host"})
    LOCATION: ClassVar[frozenset[str]] = frozenset({"host"})
    CREDENTIALS: ClassVar[str] = "the project API key (phc_..., Project Settings; not a personal API key)"

    type: Literal["posthog"]
    api_key: SecretToken = Field(
        min_length=1, max_length=200, title="Project API Key", description="phc_..., from the project's settings.")
    host: str = Field(default="https://us.i.posthog.com", max_length=2048, title="Host",
                      description="https://us.i.posthog.com (US), https://eu.i.posthog.com (EU), or your own "
                                  "PostHog's address.")

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        return base_url(value, example="https://us.i.posthog.com")

    def target(self) -> Target:
        api_key = self.api_key.get_secret_value()

        def encode(traces: list[dict[str, Any]]) -> bytes:
            return orjson.dumps(events.batch(traces, api_key=api_key, privacy_mode=self.privacy_mode))

        return Target(method="POST", url=self.host + BATCH_PATH, batch_size=BATCH_SIZE, encode=encode,
                      empty=encode([]), headers=lambda _body, _testing: HEADERS, credentials=self.CREDENTIALS)


class PostHogDestination(PostHogConfig, Saved):
    """A saved PostHog destination."""
