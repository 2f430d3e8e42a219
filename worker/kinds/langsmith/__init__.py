"""LangSmith destinations: traces as LangSmith LLM runs, OTLP/HTTP protobuf to LangSmith's OpenTelemetry endpoint
(docs/vendors.md)."""

from worker.kinds.langsmith.config import LangSmithConfig, LangSmithDestination
from worker.kinds.langsmith.conntest import connection_test
from worker.kinds.otlp_vendor import vendor_kind

KIND = vendor_kind("langsmith", LangSmithConfig, LangSmithDestination, connection_test)
