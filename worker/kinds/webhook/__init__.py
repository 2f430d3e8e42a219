"""Webhook destinations: traces POSTed (or PUT) to an HTTP receiver as OTLP/JSON, OTLP protobuf or tracedrop's
JSON document, signed per Standard Webhooks (docs/destinations.md)."""

from worker.kinds.base import Kind
from worker.kinds.webhook.config import WebhookConfig, WebhookDestination
from worker.kinds.webhook.conntest import connection_test
from worker.kinds.webhook.writer import WebhookWriter

KIND = Kind(name="webhook", config=WebhookConfig, destination=WebhookDestination, connection_test=connection_test,
            writer=WebhookWriter)
