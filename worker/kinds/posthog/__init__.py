"""PostHog destinations: traces as ``$ai_generation`` events of PostHog's LLM analytics, through its batch capture
API (not OTLP; docs/vendors.md). Delivery is the webhook kind's, fed the config's ``Target``."""

from worker.kinds.base import Kind
from worker.kinds.posthog.config import PostHogConfig, PostHogDestination
from worker.kinds.posthog.conntest import connection_test
from worker.kinds.webhook.writer import WebhookWriter

KIND = Kind(name="posthog", config=PostHogConfig, destination=PostHogDestination, connection_test=connection_test,
            writer=WebhookWriter)
