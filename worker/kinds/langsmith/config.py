"""The LangSmith destination's configuration: an API key, the project traces are filed under, and where LangSmith's
API is.

Sent as https://docs.langchain.com/langsmith/trace-with-opentelemetry says: OTLP/HTTP to ``{endpoint}/otel/v1/traces``
with ``x-api-key`` and ``Langsmith-Project``; the spans speak the GenAI conventions, which LangSmith maps to a run's
model, invocation parameters, token usage, inputs and outputs, plus ``langsmith.span.kind: llm`` (the run type:
tracedrop's ``gen_ai.operation.name`` is the gateway's API type, such as ``oai_completions``, which LangSmith does not
map to one), and the user, session and tags in LangSmith's own names (``langsmith.metadata.*``,
``langsmith.span.tags``; https://docs.langchain.com/langsmith/threads: a ``session_id`` metadata key threads a
conversation).
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, field_validator

from worker.destination import Saved
from worker.kinds.otlp_vendor.config import SecretToken, VendorConfig, base_url
from worker.otlp import genai
from worker.otlp.common import Attribute, Dialect

TRACES_PATH = "/otel/v1/traces"
PROJECTS_PATH = "/sessions"
"""LangSmith's projects ("tracer sessions"), read by name as its SDK's ``Client.read_project`` does."""
RUN_TYPE = ("langsmith.span.kind", "llm")
_METADATA = (("user", "user_id"), ("session_id", "session_id"))


def attributes(trace: dict[str, Any], *, privacy_mode: bool) -> list[Attribute]:
    """The GenAI dialect's attributes, then what LangSmith reads under other names only: the provider under GenAI's
    former name, the user and the session as run metadata (``langsmith.metadata.session_id`` makes LangSmith thread a
    conversation's traces), the tags."""
    found = genai.attributes(trace, privacy_mode=privacy_mode)
    if trace.get("provider") is not None:
        found.append(("gen_ai.system", trace["provider"]))  # the name LangSmith maps; GenAI's now gen_ai.provider.name
    found += [(f"langsmith.metadata.{key}", trace[name]) for name, key in _METADATA if trace.get(name) is not None]
    if tags := trace.get("trace", {}).get("tags"):
        found.append(("langsmith.span.tags", ",".join(str(tag) for tag in tags)))
    return found


class LangSmithConfig(VendorConfig):
    """A LangSmith project, cloud (US, EU, ...) or self-hosted."""

    TITLE: ClassVar[str] = "LangSmith"
    SUMMARY: ClassVar[str] = "Traces as LangSmith LLM runs, with model, token usage, inputs and outputs, in a project."
    SECRETS: ClassVar[tuple[str, ...]] = ("api_key",)
    CONNECTION: ClassVar[frozenset[str]] = frozenset({"api_key", "project", "endpoint"})
    LOCATION: ClassVar[frozenset[str]] = frozenset({"endpoint"})
    CREDENTIALS: ClassVar[str] = "the API key (lsv2_..., from Settings > API Keys, of the workspace to trace to)"

    type: Literal["langsmith"]
    api_key: SecretToken = Field(min_length=1, max_length=200, title="API Key",
                               description="lsv2_..., from LangSmith's Settings > API Keys.")
    project: Annotated[str, Field(min_length=1, max_length=200, title="Project",
                                  description="The project traces are filed under; LangSmith creates it with the "
                                              "first trace if it does not exist.")]
    endpoint: str = Field(default="https://api.smith.langchain.com", max_length=2048, title="Endpoint",
                          description="https://api.smith.langchain.com (US), https://eu.api.smith.langchain.com "
                                      "(EU), or a self-hosted LangSmith's API URL (ending in /api/v1).")

    @field_validator("project")
    @classmethod
    def _project(cls, value: str) -> str:
        if not value.strip() or any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
            raise ValueError("must be a project name: not blank, no control characters")
        return value

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, value: str) -> str:
        return base_url(value, example="https://api.smith.langchain.com")

    def traces_url(self) -> str:
        return self.endpoint + TRACES_PATH

    def projects_url(self) -> str:
        return self.endpoint + PROJECTS_PATH

    def auth(self) -> dict[str, str]:
        return {"x-api-key": self.api_key.get_secret_value(), "Langsmith-Project": self.project}

    def dialect(self) -> Dialect:
        return attributes

    def common(self) -> list[Attribute]:
        return [RUN_TYPE]


class LangSmithDestination(LangSmithConfig, Saved):
    """A saved LangSmith destination."""
