"""Arize AX destinations: traces as OpenInference LLM spans, OTLP/HTTP protobuf to Arize's collector with the space's
key and id, filed under a project (docs/vendors.md). The connection test is an empty export with those headers."""

from worker.kinds.arize.config import ArizeConfig, ArizeDestination
from worker.kinds.otlp_vendor import vendor_kind

KIND = vendor_kind("arize", ArizeConfig, ArizeDestination)
