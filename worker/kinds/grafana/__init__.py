"""Grafana Cloud destinations: traces to Grafana Cloud Traces (Tempo) through the stack's OTLP gateway, OTLP/HTTP
protobuf with the GenAI conventions (docs/vendors.md)."""

from worker.kinds.grafana.config import GrafanaConfig, GrafanaDestination
from worker.kinds.otlp_vendor import vendor_kind

KIND = vendor_kind("grafana", GrafanaConfig, GrafanaDestination)
