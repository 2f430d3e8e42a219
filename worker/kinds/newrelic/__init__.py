"""New Relic destinations: traces to New Relic's OTLP endpoint for the account's region, OTLP/HTTP protobuf with the
GenAI conventions (docs/vendors.md)."""

from worker.kinds.newrelic.config import NewRelicConfig, NewRelicDestination
from worker.kinds.otlp_vendor import vendor_kind

KIND = vendor_kind("newrelic", NewRelicConfig, NewRelicDestination)
