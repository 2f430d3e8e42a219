"""Langfuse destinations: traces as Langfuse generations, OTLP/HTTP protobuf to Langfuse's OpenTelemetry endpoint
(docs/vendors.md)."""

from worker.kinds.langfuse.config import LangfuseConfig, LangfuseDestination
from worker.kinds.langfuse.conntest import connection_test
from worker.kinds.otlp_vendor import vendor_kind

KIND = vendor_kind("langfuse", LangfuseConfig, LangfuseDestination, connection_test)
