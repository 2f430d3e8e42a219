"""The mlflow kind through the whole stack, against a real MLflow tracking server (`mlflow server` from PyPI, its own
virtualenv, SQLite store, on loopback: tests/mlflow_server.py), read back with MLflow's own client. Where each
expectation comes from:

- MLFLOW_OTEL: https://mlflow.org/docs/latest/genai/tracing/opentelemetry/ingest (the OTLP/HTTP endpoint
  ``/v1/traces`` of MLflow 3.6 and later, SQL backend store, experiment in the ``x-mlflow-experiment-id`` header).
- MLFLOW_REST: https://mlflow.org/docs/latest/api_reference/rest-api.html (``GET /api/2.0/mlflow/experiments/get``;
  ``RESOURCE_DOES_NOT_EXIST`` for an experiment that is not there).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from tests import stack
from tests.conftest import make_trace, wait_for
from tests.mlflow_server import Mlflow, mlflow_server
from tests.receiver import Answer, Receiver, Request, answering, ok
from worker.kinds.mlflow.config import EXPERIMENT_PATH

pytestmark = pytest.mark.usefixtures("running")

TRACE = {
    "model": "openai/gpt-4o", "provider": "OpenAI", "api_type": "oai_completions", "user": "user-42",
    "session_id": "sess-9", "trace": {"trace_name": "support-bot", "generation_name": "answer"},
    "usage": {"prompt_tokens": 12, "completion_tokens": 40, "total_tokens": 52},
    "cost": {"input": 0.00003, "output": 0.0004, "total": 0.00043},
    "request": {"messages": [{"role": "user", "content": "the secret question"}], "temperature": 0.2},
    "response": {"choices": [{"message": {"role": "assistant", "content": "the private answer"}}]},
}


@pytest.fixture(scope="module")
def mlflow(workdir: Path) -> Iterator[Mlflow]:
    server = mlflow_server(workdir)
    yield server
    server.stop()


@pytest.fixture()
def experiment(mlflow: Mlflow) -> tuple[str, str]:
    """A new experiment of the MLflow: (id, name)."""
    name = f"tracedrop-{uuid.uuid4().hex[:8]}"
    return mlflow.experiment(name), name


def form(mlflow: Mlflow | Receiver, experiment_id: str, **fields: Any) -> dict[str, Any]:
    url = mlflow.url if isinstance(mlflow, Mlflow) else mlflow.origin
    return {"name": "mlflow", "type": "mlflow", "tracking_uri": url, "experiment_id": experiment_id, **fields}


def spans(mlflow: Mlflow, experiment_id: str, count: int) -> list[dict[str, Any]]:
    """The experiment's spans once there are ``count``, as MLflow's client reads them."""
    return list(wait_for(lambda: (found if len(found := mlflow.spans(experiment_id)) >= count else None),
                         timeout=120, what=f"{count} traces in MLflow experiment {experiment_id}"))


def test_traces_arrive_in_the_experiment_as_llm_spans_with_usage_inputs_and_outputs(
    admin: stack.Admin, workspace: str, ingest: httpx.Client, mlflow: Mlflow, experiment: tuple[str, str]
) -> None:
    # Given an MLflow destination whose connection test found the experiment (MLFLOW_REST)
    experiment_id, name = experiment
    tested = admin.http.post(f"/v1/workspaces/{workspace}/destinations/test", json=form(mlflow, experiment_id))
    assert tested.json() == {"ok": True, "status": 400, "experiment": name}, tested.text  # no spans: MLflow's 400
    created = admin.destination(workspace, form(mlflow, experiment_id))

    # When two traces are accepted
    traces = [make_trace(0, **TRACE), make_trace(1, **{**TRACE, "api_type": "chat"})]
    assert ingest.post("/v1/traces", json={"traces": traces}).status_code == 202

    # Then MLflow holds each once, in the experiment, as a model call with its usage, inputs and outputs
    found = {span["attributes"]["tracedrop.id"]: span for span in spans(mlflow, experiment_id, 2)}
    assert sorted(found) == ["gen-0", "gen-1"]
    first = found["gen-0"]
    assert first["experiment_id"] == experiment_id and first["name"] == "answer"
    assert first["span_type"] == "LLM"
    assert found["gen-1"]["span_type"] == "CHAT_MODEL"  # gen_ai.operation.name "chat": MLflow's chat model span
    assert first["token_usage"] == {"input_tokens": 12, "output_tokens": 40, "total_tokens": 52}
    assert first["inputs"] == [{"role": "user", "content": "the secret question"}]
    assert first["outputs"]["content"] == "the private answer"
    assert first["attributes"]["mlflow.llm.model"] == "openai/gpt-4o"
    assert first["attributes"]["mlflow.llm.cost"]["total_cost"] == pytest.approx(0.00043)
    wait_for(lambda: admin.status(workspace, created["id"])["delivered"] == 2, what="status delivered 2")


def test_in_privacy_mode_no_content_reaches_mlflow(
    admin: stack.Admin, workspace: str, ingest: httpx.Client, mlflow: Mlflow, experiment: tuple[str, str]
) -> None:
    experiment_id, _ = experiment
    admin.destination(workspace, form(mlflow, experiment_id, privacy_mode=True))

    assert ingest.post("/v1/traces", json={"traces": [make_trace(2, **TRACE)]}).status_code == 202

    [span] = spans(mlflow, experiment_id, 1)
    assert span["inputs"] is None and span["outputs"] is None
    assert "the secret question" not in str(span) and "the private answer" not in str(span)
    assert span["token_usage"] == {"input_tokens": 12, "output_tokens": 40, "total_tokens": 52}  # counts stay


@pytest.mark.parametrize("deleted", [False, True], ids=["unknown", "deleted"])
def test_a_wrong_experiment_id_fails_the_connection_test_and_saves_nothing(
    admin: stack.Admin, workspace: str, mlflow: Mlflow, experiment: tuple[str, str], deleted: bool
) -> None:
    # Given an experiment id MLflow has no experiment for (MLFLOW_REST: RESOURCE_DOES_NOT_EXIST), or one in its trash
    experiment_id = experiment[0] if deleted else "424242"
    if deleted:
        mlflow.delete(experiment_id)

    response = admin.http.post(f"/v1/workspaces/{workspace}/destinations", json=form(mlflow, experiment_id))

    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "not_found" and f"'{experiment_id}'" in error["message"], error
    assert admin.http.get(f"/v1/workspaces/{workspace}/destinations").json() == {"destinations": []}


def mlflow_api(request: Request) -> Answer:
    """An MLflow behind a proxy that wants a Bearer token (what MLflow's clients send for MLFLOW_TRACKING_TOKEN),
    and whose OpenTelemetry endpoint is missing (MLflow before 3.6, MLFLOW_OTEL)."""
    if request.headers.get("authorization") != "Bearer right-token":
        return 401, {"Content-Type": "application/json"}, b'{"error_code":"UNAUTHENTICATED"}'
    if request.method == "GET" and request.path.startswith(EXPERIMENT_PATH):
        return 200, {"Content-Type": "application/json"}, orjson.dumps({"experiment": {"experiment_id": "3",
                                                                                       "name": "x"}})
    return 404, {"Content-Type": "text/html"}, b"<h1>Not Found</h1>"


@pytest.fixture()
def old_mlflow() -> Iterator[Receiver]:
    with answering(mlflow_api) as receiver:
        yield receiver


@pytest.mark.parametrize(("token", "code", "says"), [("wrong-token", "unauthorized", "MLFLOW_TRACKING_TOKEN"),
                                                     ("right-token", "not_found", "before 3.6")])
def test_a_refused_token_or_a_missing_otel_endpoint_fails_the_test_and_saves_nothing(
    admin: stack.Admin, workspace: str, old_mlflow: Receiver, token: str, code: str, says: str
) -> None:
    response = admin.http.post(f"/v1/workspaces/{workspace}/destinations", json=form(old_mlflow, "3", token=token))

    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == code and says in error["message"], error
    assert token not in response.text
    assert admin.http.get(f"/v1/workspaces/{workspace}/destinations").json() == {"destinations": []}


def test_a_tracking_uri_where_something_else_answers_is_not_found(admin: stack.Admin, workspace: str) -> None:
    # Given a server that answers 200 to everything, but is no MLflow (its answer holds no experiment: MLFLOW_REST)
    with answering(ok) as other:
        response = admin.http.post(f"/v1/workspaces/{workspace}/destinations", json=form(other, "3"))

        assert response.status_code == 400, response.text
        error = response.json()["error"]
        assert error["code"] == "not_found" and "No MLflow tracking API" in error["message"], error
        assert [(r.method, r.path.split("?")[0]) for r in other.requests] == [("GET", EXPERIMENT_PATH)]
