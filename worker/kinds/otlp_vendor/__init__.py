"""What every named OTLP vendor shares (Langfuse, ...): a vendor is a config (its fields, how they become the OTLP
URL and headers, its dialect) and a connection test; delivery is the webhook kind's (worker/kinds/webhook/writer.py:
batches, splits of refused content, retries honouring Retry-After, error mapping, the egress fence), fed the
vendor's ``Target``."""

from __future__ import annotations

from worker.destination import Saved
from worker.kinds.base import ConnectionTest, Kind
from worker.kinds.otlp_vendor.config import VendorConfig
from worker.kinds.otlp_vendor.conntest import export_test
from worker.kinds.webhook.writer import WebhookWriter


def vendor_kind(name: str, config: type[VendorConfig], destination: type[Saved],
                connection_test: ConnectionTest = export_test) -> Kind:
    """A vendor's registry entry; its connection test is an empty export unless the vendor has a better one."""
    return Kind(name=name, config=config, destination=destination, connection_test=connection_test,
                writer=WebhookWriter)
