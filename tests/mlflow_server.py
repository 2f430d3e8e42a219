"""A real MLflow tracking server for the tests: ``mlflow server`` from its own virtualenv (.receivers/mlflow,
`make receivers`), on a free loopback port, its SQLite store and artifacts in a temporary folder, telemetry and the
job runner off. Read back with MLflow's own client, run by that virtualenv's python (mlflow is not in the project's
environment).
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.stack import Service, free_port, receiver_program, wait_until

QUIET = {"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true", "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
"""MLflow's usage telemetry off (mlflow/telemetry/utils.py reads both), and no job runner processes."""

TRACES = """
import json, sys
from mlflow import MlflowClient

client = MlflowClient(tracking_uri=sys.argv[1])
spans = []
for trace in client.search_traces(locations=[sys.argv[2]], max_results=500):
    for span in trace.data.spans:
        spans.append({"experiment_id": trace.info.experiment_id, "trace_id": trace.info.trace_id,
                      "token_usage": trace.info.token_usage, "name": span.name, "span_type": span.span_type,
                      "inputs": span.inputs, "outputs": span.outputs, "attributes": span.attributes})
print(json.dumps(spans, default=str))
"""


@dataclass
class Mlflow(Service):
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        super().start()
        wait_until(lambda: httpx.get(f"{self.url}/health", timeout=5).status_code == 200, timeout=120,
                   what="mlflow server", proc=self.proc)

    def experiment(self, name: str) -> str:
        """A new experiment's id, made through MLflow's REST API."""
        response = httpx.post(f"{self.url}/api/2.0/mlflow/experiments/create", json={"name": name}, timeout=60)
        response.raise_for_status()
        return str(response.json()["experiment_id"])

    def delete(self, experiment_id: str) -> None:
        """Move an experiment to MLflow's trash (REST ``experiments/delete``)."""
        response = httpx.post(f"{self.url}/api/2.0/mlflow/experiments/delete", json={"experiment_id": experiment_id},
                              timeout=60)
        response.raise_for_status()

    def spans(self, experiment_id: str) -> list[dict[str, Any]]:
        """Every span of the experiment's traces, as MLflow's client reads them (``MlflowClient.search_traces``)."""
        found = subprocess.run([receiver_program("mlflow", "python"), "-c", TRACES, self.url, experiment_id],
                               env={**os.environ, **QUIET}, capture_output=True, timeout=300)
        if found.returncode != 0:
            raise AssertionError(f"MLflow's client failed: {found.stderr.decode()[-2000:]}")
        return list(json.loads(found.stdout))


def mlflow_server(workdir: Path) -> Mlflow:
    """``mlflow server`` with one worker, listening on loopback only, stopped with ``stop()`` (its process group)."""
    home = workdir / f"mlflow-{os.urandom(4).hex()}"
    home.mkdir(parents=True)
    port = free_port()
    args = [receiver_program("mlflow", "mlflow"), "server", "--host", "127.0.0.1", "--port", str(port),
            "--workers", "1", "--backend-store-uri", f"sqlite:///{home / 'mlflow.db'}",
            "--default-artifact-root", str(home / "artifacts"), "--no-serve-artifacts"]
    server = Mlflow("mlflow", args, home / "mlflow.log", env={**os.environ, **QUIET}, port=port)
    server.start()
    return server
