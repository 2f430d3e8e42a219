"""Sentry destinations: traces to a Sentry project's OTLP traces endpoint, OTLP/HTTP protobuf with the GenAI
conventions, authenticated with the DSN's public key (docs/vendors.md)."""

from worker.kinds.otlp_vendor import vendor_kind
from worker.kinds.sentry.config import SentryConfig, SentryDestination

KIND = vendor_kind("sentry", SentryConfig, SentryDestination)
