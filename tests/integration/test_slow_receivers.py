"""A receiver that answers slowly but does answer is waited for, not retried: the read timeout a kind names
(``Target.read_timeout``; MLflow's, worker/kinds/mlflow/config.py) covers a first answer slower than the default
(``egress.READ_TIMEOUT``), in the connection test and in delivery alike.

The receiver answers as MLflow does (MLFLOW_OTEL: https://mlflow.org/docs/latest/genai/tracing/opentelemetry/ingest,
``POST /v1/traces`` with ``x-mlflow-experiment-id``; MLFLOW_REST:
https://mlflow.org/docs/latest/api_reference/rest-api.html, ``GET /api/2.0/mlflow/experiments/get``), and as a real
MLflow did here: its first answer on each route came after the default read timeout.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import orjson
import pytest
from google.protobuf.json_format import MessageToDict
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests import stack
from tests.conftest import make_trace, wait_for
from tests.receiver import Answer, Receiver, Request, answering, span_ids
from worker import egress
from worker.kinds.mlflow.config import EXPERIMENT_PATH, TRACES_PATH

pytestmark = pytest.mark.usefixtures("running")

EXPERIMENT = {"experiment_id": "7", "name": "slow", "lifecycle_stage": "active"}
SLOW = egress.READ_TIMEOUT + 1
"""How long the receiver takes over its first answer on each route: longer than the default read timeout."""


def exports(receiver: Receiver) -> list[Request]:
    """The exports that carried spans (the connection test's is empty)."""
    with receiver.lock:
        return [r for r in receiver.requests if r.method == "POST" and r.body]


@pytest.fixture()
def slow_mlflow() -> Iterator[Receiver]:
    answered: set[tuple[str, bool]] = set()
    once = threading.Lock()

    def behave(request: Request) -> Answer:
        route = (request.path.split("?")[0], bool(request.body))
        with once:
            first, _ = route not in answered, answered.add(route)
        if first:
            time.sleep(SLOW)
        if request.method == "GET" and route[0] == EXPERIMENT_PATH:  # MLFLOW_REST
            return 200, {"Content-Type": "application/json"}, orjson.dumps({"experiment": EXPERIMENT})
        experiment = request.headers.get("x-mlflow-experiment-id")  # MLFLOW_OTEL
        if request.method == "POST" and route[0] == TRACES_PATH and experiment == "7":
            if not request.body:  # MLflow refuses an export without spans (MLFLOW_OTEL)
                return 400, {"Content-Type": "application/json"}, b'{"detail":"no spans found"}'
            return 200, {"Content-Type": "application/x-protobuf"}, b""
        return 404, {}, b"Not Found"

    with answering(behave) as receiver:
        yield receiver


def test_a_slow_first_answer_is_waited_for_and_the_trace_delivered_once(
    admin: stack.Admin, workspace: str, ingest: httpx.Client, slow_mlflow: Receiver
) -> None:
    # Given an MLflow destination saved although MLflow took longer than the default read timeout to answer its test
    created = admin.destination(workspace, {"name": "mlflow", "type": "mlflow", "tracking_uri": slow_mlflow.origin,
                                            "experiment_id": "7"})
    assert [(r.method, r.path.split("?")[0]) for r in slow_mlflow.requests] == [("GET", EXPERIMENT_PATH),
                                                                                 ("POST", TRACES_PATH)]

    # When a trace is accepted and MLflow answers its export slowly too
    assert ingest.post("/v1/traces", json={"traces": [make_trace(0)]}).status_code == 202

    # Then it is delivered with one request, once, and nothing was retried
    wait_for(lambda: admin.status(workspace, created["id"])["delivered"] == 1, what="status delivered 1")
    [export] = exports(slow_mlflow)
    assert span_ids(MessageToDict(ExportTraceServiceRequest.FromString(export.body))) == ["gen-0"]
    status = admin.status(workspace, created["id"])
    assert (status["retried"], status["failed"], status["last_error"]) == (0, 0, None), status
