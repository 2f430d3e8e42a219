"""Datadog destinations: traces as LLM spans of Datadog LLM Observability, through its spans API (not OTLP;
docs/vendors.md). Delivery is the webhook kind's, fed the config's ``Target``."""

from worker.kinds.base import Kind
from worker.kinds.datadog.config import DatadogConfig, DatadogDestination
from worker.kinds.datadog.conntest import connection_test
from worker.kinds.webhook.writer import WebhookWriter

KIND = Kind(name="datadog", config=DatadogConfig, destination=DatadogDestination, connection_test=connection_test,
            writer=WebhookWriter)
