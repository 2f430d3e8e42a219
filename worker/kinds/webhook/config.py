"""The webhook destination's configuration: where to send, how, in which format, signed with which secret."""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, SecretStr, StrictInt, field_validator

from worker.crypto import decrypt, encrypt
from worker.destination import MASK, DestinationConfig, Saved, check_url
from worker.forms import ShownWhen
from worker.kinds.webhook import body
from worker.kinds.webhook.signing import SecretError, secret_bytes
from worker.kinds.webhook.target import Target

_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
"""An HTTP header name (RFC 9110 token)."""
RESERVED_HEADERS = frozenset(
    {"host", "content-length", "transfer-encoding", "connection", "content-type", "webhook-id",
     "webhook-timestamp", "webhook-signature", "x-test-connection"}
)
"""Headers tracedrop sets itself (or that would break the request): refused in ``headers``."""
MAX_HEADERS = 50
Format = Literal["otlp_json", "otlp_proto", "json"]
Conventions = Literal["genai", "langfuse", "openinference"]


class WebhookConfig(DestinationConfig):
    """A webhook destination, as the admin API accepts it (docs/webhooks.md)."""

    TITLE: ClassVar[str] = "Webhook"
    SUMMARY: ClassVar[str] = ("Any HTTP endpoint of yours: signed JSON, or OTLP spans for a collector or a "
                              "self-hosted tool.")
    SECRETS: ClassVar[tuple[str, ...]] = ("signing_secret",)
    CONNECTION: ClassVar[frozenset[str]] = frozenset({"url", "method", "headers", "signing_secret", "format"})
    LOCATION: ClassVar[frozenset[str]] = frozenset({"url"})
    """Any change of the URL, its path too: one host may serve many receivers (each its own path)."""

    type: Literal["webhook"]
    url: str = Field(max_length=2048, title="URL",
                     description="The receiver's URL (https; http only with private endpoints).")
    method: Literal["POST", "PUT"] = Field(default="POST", title="Method")
    format: Format = Field(default="otlp_json", title="Body Format")
    conventions: Annotated[Conventions, ShownWhen("format", ("otlp_json", "otlp_proto"))] = Field(
        default="genai", title="Conventions",
        description="The attributes OTLP spans carry: genai (OpenTelemetry GenAI semantic conventions), langfuse "
                    "(a Langfuse generation, for a self-hosted Langfuse) or openinference (an OpenInference LLM span, "
                    "for Arize Phoenix).")
    batch_size: Annotated[StrictInt, Field(ge=1, le=1000, title="Batch Size", description="Traces per request.")] = 1
    headers: dict[str, SecretStr] = Field(default_factory=dict, max_length=MAX_HEADERS, title="Headers",
                                          description="Sent with every request; the values are secrets.")
    signing_secret: SecretStr | None = Field(default=None, max_length=200, title="Signing Secret",
                                             description="whsec_ followed by base64 of 24 to 64 bytes.")

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return check_url(value, example="https://hooks.example.com/llm", query=True,
                         userinfo="put credentials in headers")

    @field_validator("headers")
    @classmethod
    def _headers(cls, value: dict[str, SecretStr]) -> dict[str, SecretStr]:
        seen: set[str] = set()
        for name, secret in value.items():
            if not _TOKEN.fullmatch(name):
                raise ValueError(f"{name!r} is not a header name (letters, digits and !#$%&'*+.^_`|~-)")
            if name.lower() in RESERVED_HEADERS:
                raise ValueError(f"{name!r} is set by tracedrop and cannot be configured")
            if name.lower() in seen:
                raise ValueError(f"{name!r} is given twice")
            seen.add(name.lower())
            text = secret.get_secret_value()
            if any(c in text for c in "\r\n\0"):
                raise ValueError(f"the value of {name!r} contains CR, LF or NUL")
            if len(text) > 8192:
                raise ValueError(f"the value of {name!r} is longer than 8192 characters")
        return value

    @field_validator("signing_secret")
    @classmethod
    def _secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        try:
            secret_bytes(value.get_secret_value())
        except SecretError as exc:
            raise ValueError(str(exc)) from None
        return value

    def target(self) -> Target:
        return body.target(self)

    def public(self) -> dict[str, Any]:
        data = super().public()
        data["headers"] = dict.fromkeys(self.headers, MASK)
        return data

    def touched(self, changes: dict[str, Any]) -> set[str]:
        touched = super().touched(changes)
        headers = changes.get("headers")
        if isinstance(headers, dict) and set(headers) == set(self.headers) and \
                all(value == MASK for value in headers.values()):
            touched.discard("headers")
        return touched

    def kept_secrets(self, changes: dict[str, Any]) -> list[str]:
        """The signing secret as any kind's secret, and ``headers`` when a stored header value is kept (``headers``
        left out, or a value sent as the mask)."""
        kept = super().kept_secrets(changes)
        headers = changes.get("headers")
        if self.headers and (not isinstance(headers, dict) or MASK in headers.values()):
            kept.append("headers")
        return sorted(kept)

    def merged(self, changes: dict[str, Any]) -> dict[str, Any]:
        """A header sent with the mask as its value keeps the value saved for it; one left out is removed; leaving
        ``headers`` out keeps them all. ValueError (``"headers: reason"``) for a mask with nothing saved under it."""
        merged = super().merged(changes)
        plain = {name: secret.get_secret_value() for name, secret in self.headers.items()}
        headers = changes.get("headers", plain)
        if isinstance(headers, dict):
            for name, value in headers.items():
                if value == MASK and name not in plain:
                    raise ValueError(f"headers: {name!r} is sent as the mask, but no value is saved for it")
            merged["headers"] = {name: plain[name] if value == MASK else value for name, value in headers.items()}
        return merged

    def encrypted(self, data: dict[str, Any], *, secret_key: str) -> dict[str, Any]:
        data = super().encrypted(data, secret_key=secret_key)
        data["headers"] = {name: encrypt(secret.get_secret_value(), secret_key=secret_key)
                           for name, secret in self.headers.items()}
        return data

    @classmethod
    def decrypted(cls, data: dict[str, Any], *, secret_key: str) -> dict[str, Any]:
        plain = super().decrypted(data, secret_key=secret_key)
        plain["headers"] = {name: decrypt(value, secret_key=secret_key)
                            for name, value in (data.get("headers") or {}).items()}
        return plain


class WebhookDestination(WebhookConfig, Saved):
    """A saved webhook destination."""
