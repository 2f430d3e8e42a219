"""MLflow destinations: traces as MLflow traces in one experiment, OTLP/HTTP protobuf to the tracking server's
OpenTelemetry endpoint (docs/vendors.md)."""

from worker.kinds.mlflow.config import MlflowConfig, MlflowDestination
from worker.kinds.mlflow.conntest import connection_test
from worker.kinds.otlp_vendor import vendor_kind

KIND = vendor_kind("mlflow", MlflowConfig, MlflowDestination, connection_test)
