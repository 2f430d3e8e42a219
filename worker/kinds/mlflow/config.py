"""The MLflow destination's configuration: a tracking server, the experiment traces are filed in, and a token if the
server wants one.

Sent as https://mlflow.org/docs/latest/genai/tracing/opentelemetry/ingest says: OTLP/HTTP protobuf to
``{tracking_uri}/v1/traces`` with the experiment in ``x-mlflow-experiment-id`` (MLflow 3.6 or later, with a SQL
backend store), spans in the OpenTelemetry GenAI conventions, which MLflow translates into its own span type, inputs,
outputs and token usage. The token travels as MLflow's own clients send ``MLFLOW_TRACKING_TOKEN``
(``mlflow/utils/rest_utils.py``): ``Authorization: Bearer <token>``.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal
from urllib.parse import urlencode

from pydantic import Field, SecretStr, field_validator

from worker.destination import Saved
from worker.kinds.otlp_vendor.config import VendorConfig, base_url, secret_token, token

TRACES_PATH = "/v1/traces"
EXPERIMENT_PATH = "/api/2.0/mlflow/experiments/get"
EXPERIMENT_HEADER = "x-mlflow-experiment-id"
READ_TIMEOUT = 30
"""Seconds MLflow may take over each read of an answer: a tracking server answers its first requests only once it
has loaded its tracing modules (7 s here for the first export), and a slow answer that does come is worth the wait
(a timed-out export is sent again, and again)."""


class MlflowConfig(VendorConfig):
    """An experiment of an MLflow tracking server (3.6 or later, with a SQL backend store: MLflow's OpenTelemetry
    endpoint needs both)."""

    TITLE: ClassVar[str] = "MLflow"
    SUMMARY: ClassVar[str] = ("Traces as MLflow traces with an LLM span, token usage, inputs and outputs, in an "
                              "experiment of your tracking server.")
    SECRETS: ClassVar[tuple[str, ...]] = ("token",)
    CONNECTION: ClassVar[frozenset[str]] = frozenset({"tracking_uri", "experiment_id", "token"})
    LOCATION: ClassVar[frozenset[str]] = frozenset({"tracking_uri"})
    CREDENTIALS: ClassVar[str] = "the token (MLFLOW_TRACKING_TOKEN)"
    READ_TIMEOUT: ClassVar[float] = READ_TIMEOUT

    type: Literal["mlflow"]
    tracking_uri: str = Field(max_length=2048, title="Tracking URI",
                              description="The MLflow tracking server's address (MLFLOW_TRACKING_URI), e.g. "
                                          "http://mlflow.internal:5000.")
    experiment_id: Annotated[str, Field(min_length=1, max_length=64, title="Experiment ID",
                                        description="The experiment traces are filed in: the id in its page's "
                                                    "address (0 for Default).")]
    token: SecretStr | None = Field(default=None, max_length=4096, title="Token",
                                    description="Sent as a Bearer token (MLFLOW_TRACKING_TOKEN), for a server "
                                                "behind authentication; empty for none.")

    @field_validator("tracking_uri")
    @classmethod
    def _tracking_uri(cls, value: str) -> str:
        return base_url(value, example="http://localhost:5000")

    @field_validator("experiment_id")
    @classmethod
    def _experiment_id(cls, value: str) -> str:
        return token(value)

    @field_validator("token")
    @classmethod
    def _token(cls, value: SecretStr | None) -> SecretStr | None:
        return None if value is None or not value.get_secret_value() else secret_token(value)

    def traces_url(self) -> str:
        return self.tracking_uri + TRACES_PATH

    def experiment_url(self) -> str:
        return self.tracking_uri + EXPERIMENT_PATH + "?" + urlencode({"experiment_id": self.experiment_id})

    def auth(self) -> dict[str, str]:
        return {} if self.token is None else {"Authorization": "Bearer " + self.token.get_secret_value()}

    def routing(self) -> dict[str, str]:
        return {EXPERIMENT_HEADER: self.experiment_id}


class MlflowDestination(MlflowConfig, Saved):
    """A saved MLflow destination."""
