"""A named OTLP vendor's configuration: the fields its form takes become one ``Target`` (URL, headers, dialect), and
the webhook kind's delivery sends to it as OTLP/HTTP protobuf."""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from pydantic import AfterValidator, SecretStr

from worker.destination import DestinationConfig, check_url
from worker.egress import READ_TIMEOUT
from worker.kinds.webhook.target import Target
from worker.otlp import DIALECTS
from worker.otlp.common import Attribute, Dialect
from worker.otlp.envelope import export_request

BATCH_SIZE = 50
"""Traces per export request (a request the vendor refuses for its size is split, one trace per request)."""
CONTENT_TYPE = "application/x-protobuf"
EMPTY = bytes(ExportTraceServiceRequest().SerializeToString())
_TOKEN = re.compile(r"^[^\s:\x00-\x1f\x7f]+$")


def base_url(value: str, *, example: str) -> str:
    """A vendor's base URL: http(s), no credentials, query or fragment; kept without a trailing slash."""
    return check_url(value, example=example, query=False, userinfo="put the keys in their fields").rstrip("/")


def token(value: str) -> str:
    """A key or id that travels in a header: no spaces, colons or control characters."""
    if not _TOKEN.fullmatch(value):
        raise ValueError("must not contain spaces, colons or control characters")
    return value


def secret_token(value: SecretStr) -> SecretStr:
    """A secret key (``token``'s rule)."""
    token(value.get_secret_value())
    return value


SecretToken = Annotated[SecretStr, AfterValidator(secret_token)]
"""The type of a vendor's key field: a secret that travels in a header."""


class VendorConfig(DestinationConfig):
    """Subclasses give the fields, ``traces_url``, ``auth`` and, when they add any, ``routing``, ``resource`` and
    ``common``."""

    DIALECT: ClassVar[str] = "genai"
    """The dialect of ``worker.otlp.DIALECTS`` the vendor reads best."""
    CREDENTIALS: ClassVar[str] = "the API key"
    """What to check when the vendor refuses the credentials."""
    READ_TIMEOUT: ClassVar[float] = READ_TIMEOUT
    """Seconds to wait for each read of the vendor's answer, deliveries and connection tests alike
    (docs/delivery.md, "Read timeouts")."""

    def traces_url(self) -> str:
        raise NotImplementedError

    def auth(self) -> dict[str, str]:
        """The headers that authenticate a request."""
        raise NotImplementedError

    def dialect(self) -> Dialect:
        """How a trace becomes its span's attributes: ``DIALECTS[DIALECT]``, unless the vendor reads more."""
        return DIALECTS[self.DIALECT]

    def routing(self) -> dict[str, str]:
        """Headers of an export that say where in the vendor its spans go (MLflow's experiment)."""
        return {}

    def resource(self) -> list[Attribute]:
        return []

    def common(self) -> list[Attribute]:
        """Attributes on every span, after the dialect's."""
        return []

    def target(self) -> Target:
        dialect, resource, common = self.dialect(), self.resource(), self.common()
        headers = {**self.auth(), **self.routing(), "Content-Type": CONTENT_TYPE}

        def encode(traces: list[dict[str, Any]]) -> bytes:
            request = export_request(traces, privacy_mode=self.privacy_mode, dialect=dialect, resource=resource,
                                     common=common)
            return bytes(request.SerializeToString())

        return Target(method="POST", url=self.traces_url(), batch_size=BATCH_SIZE, encode=encode, empty=EMPTY,
                      headers=lambda _body, _testing: headers, credentials=self.CREDENTIALS,
                      read_timeout=self.READ_TIMEOUT)
