"""The MLflow destination's form, held to MLflow's documented contract: OTLP/HTTP protobuf to ``/v1/traces`` with
the experiment in ``x-mlflow-experiment-id`` (https://mlflow.org/docs/latest/genai/tracing/opentelemetry/ingest),
GenAI semantic conventions (which MLflow translates, tests/integration/test_mlflow.py reads them back), the token as
MLflow's own clients send ``MLFLOW_TRACKING_TOKEN`` (mlflow 3.17.2, ``mlflow/environment_variables.py``: "the
basic/bearer auth on http requests"; ``mlflow/utils/rest_utils.py``: ``Authorization: Bearer <token>``)."""

from __future__ import annotations

import pytest
from google.protobuf.json_format import MessageToDict
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from pydantic import ValidationError

from tests.unit.test_otlp_output import TRACE, stored
from worker import egress
from worker.destination import MASK
from worker.kinds import KINDS
from worker.kinds.mlflow.config import READ_TIMEOUT, MlflowConfig, MlflowDestination

FORM = {"name": "ml", "type": "mlflow", "tracking_uri": "https://mlflow.example.com/", "experiment_id": "12"}


def test_the_mlflow_destination_sends_genai_protobuf_to_the_experiment_with_a_bearer_token() -> None:
    config = MlflowConfig.model_validate({**FORM, "token": "dapi-123"})

    target = config.target()
    data = target.encode([stored(TRACE)])

    assert target.method == "POST" and target.url == "https://mlflow.example.com/v1/traces"
    assert target.headers(data, False) == {"Authorization": "Bearer dapi-123", "x-mlflow-experiment-id": "12",
                                           "Content-Type": "application/x-protobuf"}
    [span] = MessageToDict(ExportTraceServiceRequest.FromString(data))["resourceSpans"][0]["scopeSpans"][0]["spans"]
    names = {a["key"] for a in span["attributes"]}
    assert {"gen_ai.request.model", "gen_ai.usage.input_tokens", "gen_ai.input.messages"} <= names
    assert config.experiment_url() == "https://mlflow.example.com/api/2.0/mlflow/experiments/get?experiment_id=12"


def test_without_a_token_no_authorization_is_sent() -> None:
    for form in (FORM, {**FORM, "token": ""}):
        config = MlflowConfig.model_validate(form)
        assert config.token is None
        assert config.target().headers(b"", False) == {"x-mlflow-experiment-id": "12",
                                                       "Content-Type": "application/x-protobuf"}


def test_mlflow_is_given_longer_than_the_default_to_answer() -> None:
    assert MlflowConfig.model_validate(FORM).target().read_timeout == READ_TIMEOUT > egress.READ_TIMEOUT
    assert KINDS["webhook"].config.model_validate(
        {"name": "w", "type": "webhook", "url": "https://hooks.example.com/x"}).target().read_timeout == \
        egress.READ_TIMEOUT


def test_the_token_is_masked_and_moving_the_tracking_uri_needs_it_again() -> None:
    saved = MlflowDestination.model_validate({**FORM, "token": "dapi-123", "id": "d", "workspace": "w",
                                              "created_at": "now"})
    assert saved.public()["token"] == MASK and saved.public()["experiment_id"] == "12"
    assert "dapi-123" not in str(saved.stored(secret_key="k" * 44))

    moved = MlflowConfig.model_validate(saved.merged({"tracking_uri": "https://other.example.com"}))
    assert saved.withheld(moved, {"tracking_uri": "https://other.example.com"}) == ["token"]
    assert saved.withheld(MlflowConfig.model_validate(saved.merged({"experiment_id": "13"})),
                          {"experiment_id": "13"}) == []


@pytest.mark.parametrize(("field", "value"), [
    ("tracking_uri", "mlflow.example.com"), ("tracking_uri", "https://u:p@mlflow.example.com"),
    ("tracking_uri", "https://mlflow.example.com/?a=1"), ("experiment_id", ""), ("experiment_id", "1 2"),
    ("experiment_id", "x" * 65), ("token", "two words"), ("token", "line\nbreak"),
])
def test_fields_mlflow_could_not_use_are_refused_when_saved(field: str, value: str) -> None:
    with pytest.raises(ValidationError) as refused:
        MlflowConfig.model_validate({**FORM, field: value})
    assert refused.value.errors()[0]["loc"] == (field,)
