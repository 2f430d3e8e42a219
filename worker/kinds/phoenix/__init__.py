"""Arize Phoenix destinations: traces as OpenInference LLM spans, OTLP/HTTP protobuf to a Phoenix's OpenTelemetry
endpoint, filed under a project (docs/vendors.md)."""

from worker.kinds.otlp_vendor import vendor_kind
from worker.kinds.phoenix.config import PhoenixConfig, PhoenixDestination
from worker.kinds.phoenix.conntest import connection_test

KIND = vendor_kind("phoenix", PhoenixConfig, PhoenixDestination, connection_test)
