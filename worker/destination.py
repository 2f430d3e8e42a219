"""What every destination kind shares: who it is, which traces it takes, privacy, and how it is saved.

A kind (worker/kinds/) adds its own connection fields to ``DestinationConfig``; its saved form is the kind's config
plus ``Saved``. Secrets are the kind's ``SECRETS`` fields: encrypted at rest, masked in every answer.
"""

from __future__ import annotations

import re
from functools import cached_property
from typing import Annotated, Any, ClassVar
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, StrictBool

from worker.crypto import decrypt, encrypt
from worker.forms import MASK, Preview
from worker.redaction.config import Redaction
from worker.redaction.redact import Redactor
from worker.rules.config import FilterRules, as_route
from worker.ssrf import client_host

TARGET = ("bucket_name", "url", "endpoint", "base_url", "host", "tracking_uri", "otlp_endpoint", "region", "prefix",
          "project", "experiment_id", "ml_app", "table")
"""The fields, of any kind that has them, that say where a destination writes (``writes_to()``)."""
ASSIGNED = frozenset({"id", "workspace", "created_at", "redaction_key"})
"""Fields the service assigns to a saved destination; a PATCH cannot change them."""
KeyName = Annotated[str, Field(min_length=1, max_length=1024)]
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def valid_host(host: str) -> bool:
    """Whether the host, as the HTTP client reads it (``ssrf.client_host``), is an IP literal or a DNS name."""
    if host.startswith("[") or ":" in host:
        return True  # an IPv6 literal: urlsplit has parsed it already
    try:
        name = client_host(host)
    except OSError:
        return False
    return len(name) <= 253 and all(_LABEL.fullmatch(label) for label in name.split("."))


def check_url(value: str, *, example: str, query: bool, userinfo: str) -> str:
    """An endpoint URL's shape: http(s), a valid host (read as the HTTP client reads it) and port, no credentials
    (``userinfo`` says where they go); a query only where ``query``. Whether tracedrop may connect to it is decided
    by the egress fence (worker/ssrf.py) when it is tested and at every connection. Returns the URL as given."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"must be an http(s) URL such as {example}")
    if parts.username is not None or parts.password is not None:
        raise ValueError(f"must not carry user:password@; {userinfo}")
    if parts.fragment or (parts.query and not query):
        raise ValueError("must not have a query or fragment" if not query else "must not have a fragment")
    if not valid_host(parts.hostname):
        raise ValueError("host is not a valid DNS name or IP address")
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0 or parts.netloc.endswith(":"):
        raise ValueError("port must be a number from 1 to 65535")
    return value


class DestinationConfig(BaseModel):
    """The fields every kind takes (docs/destinations.md)."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    TITLE: ClassVar[str] = ""
    """The kind's name on the settings page, which reads the kind's form from its fields (worker/forms.py)."""
    SUMMARY: ClassVar[str] = ""
    """One line on what the kind sends where, under its name in the page's catalogue of kinds."""
    SECRETS: ClassVar[tuple[str, ...]] = ()
    """Fields holding a secret string: encrypted at rest, masked in answers, kept when a PATCH leaves them out."""
    CONNECTION: ClassVar[frozenset[str]] = frozenset()
    """Fields that change where or how the destination is reached: a PATCH touching one re-runs the test."""
    LOCATION: ClassVar[frozenset[str]] = frozenset()
    """Fields that say whom the destination's requests reach, and so who sees its secrets: a change of one is a move,
    which carries no stored secret (``withheld``)."""
    PREVIEW: ClassVar[Preview | None] = None
    """A line the settings page keeps up to date under the kind's form, if the kind has one."""

    name: Annotated[str, Field(min_length=1, max_length=200, title="Name")]
    type: str = Field(title="Type")
    privacy_mode: StrictBool = Field(default=False, title="Privacy Mode")
    enabled: StrictBool = Field(default=True, title="Enabled")
    sampling_rate: Annotated[float, Field(strict=True, gt=0, le=1, title="Sampling Rate",
                                          description="Share of sessions kept, in (0, 1].")] = 1.0
    api_key_names: Annotated[list[KeyName], Field(max_length=1000)] | None = Field(
        default=None, title="Gateway API Key Names",
        description="Only traces whose api_key_name (the gateway's name for the API key the LLM request used, e.g. "
                    "OpenRouter's key name) is one of these; not tracedrop's ingest keys. Every trace when not set "
                    "(null).")
    exclude_api_key_names: list[KeyName] = Field(
        default_factory=list, max_length=1000, title="Excluded Gateway API Key Names",
        description="No trace whose api_key_name (the gateway's name for the API key the LLM request used) is one of "
                    "these.")
    filter_rules: FilterRules | None = Field(
        default=None, title="Filter Rules", description="Only traces for which every group of rules matches "
        "(docs/rules-and-redaction.md); every trace when not set.")
    redaction: Redaction | None = Field(
        default=None, title="Redaction", description="Personal data and secrets replaced, and fields dropped, in "
        "what this destination receives only (docs/rules-and-redaction.md).")

    @property
    def delivery_mode(self) -> str:
        """``per_trace`` (drained as traces arrive) or ``batch`` (periodic files)."""
        return "per_trace"

    def writes_to(self) -> list[tuple[str, str]]:
        """Where it writes, as the page shows it: the set ones of TARGET's fields, with their values."""
        return [(name, str(value)) for name in TARGET
                if name in type(self).model_fields and name not in self.SECRETS
                and (value := getattr(self, name)) not in (None, "")]

    def public(self) -> dict[str, Any]:
        data = self.model_dump(mode="json")
        for field in self.SECRETS:
            data[field] = MASK if getattr(self, field) else None
        return data

    def touched(self, changes: dict[str, Any]) -> set[str]:
        """The fields a PATCH's ``changes`` sets: a secret sent as the mask is kept, so not touched."""
        return {k for k, v in changes.items() if not (k in self.SECRETS and v == MASK)}

    def kept_secrets(self, changes: dict[str, Any]) -> list[str]:
        """The stored secrets a PATCH's ``changes`` would keep (left out, or sent as the mask)."""
        touched = self.touched(changes)
        return [field for field in self.SECRETS if getattr(self, field) is not None and field not in touched]

    def moves(self, config: DestinationConfig) -> list[str]:
        """The LOCATION fields ``config`` (this destination with a PATCH applied) changes."""
        return sorted(field for field in self.LOCATION if getattr(self, field) != getattr(config, field))

    def withheld(self, config: DestinationConfig, changes: dict[str, Any]) -> list[str]:
        """The stored secrets that ``changes`` would keep although they move the destination (``config`` is this
        one with them applied): each must be sent again, or the new address would get it."""
        return self.kept_secrets(changes) if self.moves(config) else []

    def merged(self, changes: dict[str, Any]) -> dict[str, Any]:
        """This config with a PATCH's ``changes`` applied, as plain data; a secret left out or sent as the mask is
        kept."""
        touched = self.touched(changes)
        changes = {k: v for k, v in changes.items() if k in touched}
        merged = {**self.model_dump(exclude=set(ASSIGNED)), **changes}
        for field in self.SECRETS:
            value = getattr(self, field)
            if field not in changes and value is not None:
                merged[field] = value.get_secret_value()
        return merged

    def encrypted(self, data: dict[str, Any], *, secret_key: str) -> dict[str, Any]:
        """``data`` (this config dumped) with the secret fields encrypted."""
        for field in self.SECRETS:
            secret: SecretStr | None = getattr(self, field)
            data[field] = encrypt(secret.get_secret_value(), secret_key=secret_key) if secret else None
        return data

    @classmethod
    def decrypted(cls, data: dict[str, Any], *, secret_key: str) -> dict[str, Any]:
        plain = dict(data)
        for field in cls.SECRETS:
            if plain.get(field):
                plain[field] = decrypt(plain[field], secret_key=secret_key)
        return plain


class Saved(DestinationConfig):
    """A saved destination: its kind's config plus what the service assigned."""

    id: str
    workspace: str
    created_at: str
    redaction_key: SecretStr | None = None
    """The key of the destination's hash tokens (``replace_with: hash``): made by the service, encrypted at rest,
    never answered."""

    def public(self) -> dict[str, Any]:
        data = super().public()
        data.pop("workspace")
        data.pop("redaction_key")
        return data

    def stored(self, *, secret_key: str) -> dict[str, Any]:
        data = self.encrypted(self.model_dump(mode="json"), secret_key=secret_key)
        if self.redaction_key is not None:
            data["redaction_key"] = encrypt(self.redaction_key.get_secret_value(), secret_key=secret_key)
        return data

    @classmethod
    def from_stored(cls, data: dict[str, Any], *, secret_key: str) -> Saved:
        plain = cls.decrypted(data, secret_key=secret_key)
        if plain.get("redaction_key"):
            plain["redaction_key"] = decrypt(plain["redaction_key"], secret_key=secret_key)
        return cls.model_validate(plain)

    @cached_property
    def redactor(self) -> Redactor | None:
        """What this destination's redaction does to a stored trace, compiled once per loaded version."""
        if self.redaction is None:
            return None
        key = self.redaction_key.get_secret_value().encode() if self.redaction_key is not None else b""
        return Redactor(self.redaction, key=key)

    def named(self) -> dict[str, str]:
        """Who it is, for a log line: workspace, id, name and kind (never its settings)."""
        return {"workspace": self.workspace, "destination": self.id, "destination_name": self.name,
                "kind": self.type}

    def route(self) -> dict[str, Any]:
        """What ingest needs to decide whether a trace is owed to this destination (no secrets)."""
        return {
            "id": self.id,
            "enabled": self.enabled,
            "mode": self.delivery_mode,
            "sampling_rate": self.sampling_rate,
            "api_key_names": self.api_key_names,
            "exclude_api_key_names": self.exclude_api_key_names,
            "filter_rules": as_route(self.filter_rules),
        }


Destination = Saved
"""Any saved destination, of any kind."""
