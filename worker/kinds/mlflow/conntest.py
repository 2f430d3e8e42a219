"""The MLflow connection test proves the experiment, then the OpenTelemetry endpoint:

1. ``GET {tracking_uri}/api/2.0/mlflow/experiments/get?experiment_id=...`` (MLflow's REST API) with the token:
   MLflow answers the experiment, whose name the test returns. ``RESOURCE_DOES_NOT_EXIST`` (404) or
   ``INVALID_PARAMETER_VALUE`` (400, an id that is not a number) is ``not_found`` naming the experiment, as is an
   experiment in the trash (``lifecycle_stage: deleted``); another 404, or a success that holds no experiment, means
   no MLflow at the tracking URI; 401 or 403 is ``unauthorized``.
2. An empty OTLP export to ``{tracking_uri}/v1/traces`` for the experiment (MLflow answers 400, no spans, which
   passes): a 404 there is an MLflow without the OpenTelemetry endpoint (before 3.6, ``not_found``).

Both wait ``config.READ_TIMEOUT`` for an answer, as deliveries do.
"""

from __future__ import annotations

from typing import Any

import orjson

from worker.errors import DeliveryError, DestinationError
from worker.excerpts import excerpt
from worker.kinds.mlflow.config import MlflowConfig
from worker.kinds.otlp_vendor.conntest import expect_success, export_test, send

NO_MLFLOW = ("No MLflow tracking API at the tracking URI: check it (the address MLflow's clients use as "
             "MLFLOW_TRACKING_URI)")
MISSING = frozenset({"RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"})
"""MLflow's error codes for an experiment id it has no experiment for."""


def connection_test(config: Any, *, allow_private: bool) -> dict[str, Any]:
    """Return ``{"status": <the export's status>, "experiment": <name>}``, or raise a DeliveryError."""
    assert isinstance(config, MlflowConfig)
    url = config.experiment_url()
    answer = send("GET", url, body=b"", headers=config.auth(), allow_private=allow_private,
                  read_timeout=config.READ_TIMEOUT)
    found = _json(answer.body)
    if found.get("error_code") in MISSING:
        raise _no_experiment(config, excerpt(str(found.get("message") or found["error_code"])))
    expect_success(answer, url, config.CREDENTIALS, missing=NO_MLFLOW)
    experiment = found.get("experiment")
    if not isinstance(experiment, dict):
        raise DestinationError(f"{NO_MLFLOW} (HTTP {answer.status} from {url}, no experiment in the answer).",
                               code="not_found")
    if experiment.get("lifecycle_stage") == "deleted":
        raise _no_experiment(config, "the experiment is deleted")
    try:
        exported = export_test(config, allow_private=allow_private)
    except DeliveryError as exc:
        if exc.code == "not_found":
            raise DestinationError("This MLflow has no OpenTelemetry endpoint (MLflow before 3.6): upgrade it. "
                                   f"({exc})", code="not_found") from exc
        raise
    return {**exported, "experiment": experiment.get("name")}


def _no_experiment(config: MlflowConfig, says: str) -> DestinationError:
    return DestinationError(f"MLflow has no experiment {config.experiment_id!r} ({says}): check the experiment ID "
                            "(the number in the experiment's page address).", code="not_found")


def _json(body: bytes) -> dict[str, Any]:
    try:
        found = orjson.loads(body)
    except orjson.JSONDecodeError:
        return {}
    return found if isinstance(found, dict) else {}
