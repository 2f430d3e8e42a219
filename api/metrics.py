"""Prometheus metrics read from Redis, where every worker on every machine records its counters."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import orjson
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric

from worker import keys
from worker.outbox import LATENCY_BUCKETS, Outbox, Status

LABELS = ["workspace", "destination"]
_BY_WORKSPACE = (
    ("tracedrop_workspace_traces_accepted", keys.ACCEPTED, "Traces the workspace's requests got a 202 for"),
    ("tracedrop_traces_discarded", keys.DISCARDED, "Traces accepted while the workspace's broadcast was disabled"),
    ("tracedrop_spans_ignored", keys.SPANS_IGNORED, "OTLP spans received that were not LLM requests"),
)
_COUNTERS = {
    "accepted": "Traces accepted with 202 and owed to the destination",
    "delivered": "Traces written to the destination",
    "retried": "Traces whose delivery attempt failed transiently and was rescheduled",
    "failed": "Traces whose delivery attempt the destination refused (destination parked)",
    "dead_lettered": "Traces moved to dead letters",
    "filtered": "Traces the destination's filter rules refused (never owed to it)",
}
_GAUGES: dict[str, tuple[str, Callable[[Status], float]]] = {
    "backlog_traces": ("Traces owed to the destination", lambda s: s.backlog),
    "backlog_bytes": ("Redis bytes of the owed traces' stored (compressed) bodies", lambda s: s.backlog_bytes),
    "backlog_oldest_age_seconds": ("Age of the oldest trace owed to the destination (0 when none)",
                                   lambda s: s.oldest_age_seconds or 0.0),
    "retrying_traces": ("Owed traces that failed at least once and wait for another attempt", lambda s: s.retrying),
    "dead_letters": ("Traces in the destination's dead letters now", lambda s: s.dead_letters),
    "destination_failing": ("1 while the last delivery attempt failed", lambda s: s.state.failing),
    "destination_parked": ("1 while a destination error parks the destination", lambda s: s.state.parked),
}


class StoreCollector:
    """Collects the metrics of docs/observability.md from Redis at scrape time (one round trip for them all)."""

    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox

    def collect(self) -> Iterator[Metric]:
        redis = self.outbox.redis
        for metric, key, help_text in _BY_WORKSPACE:
            family = CounterMetricFamily(metric, help_text, labels=["workspace"])
            for workspace, value in redis.hgetall(key).items():
                family.add_metric([workspace.decode()], float(value))
            yield family
        stored = GaugeMetricFamily("tracedrop_workspace_stored_bytes", "Stored (compressed) bytes of the workspace's "
                                   "traces in Redis, each counted once", labels=["workspace"])
        for workspace, value in redis.hgetall(keys.STORED_BYTES).items():
            stored.add_metric([workspace.decode()], float(value))
        yield stored
        ids = sorted(i.decode() for i in redis.smembers(keys.DESTINATIONS))
        configs = redis.mget([keys.destination(i) for i in ids]) if ids else []
        workspaces = {i: str(orjson.loads(raw).get("workspace", "")) for i, raw in zip(ids, configs, strict=True)
                      if raw}
        statuses = self.outbox.statuses([i for i in ids if i in workspaces])
        counters = {name: CounterMetricFamily(f"tracedrop_traces_{name}", text, labels=LABELS)
                    for name, text in _COUNTERS.items()}
        gauges = {name: GaugeMetricFamily(f"tracedrop_{name}", text, labels=LABELS)
                  for name, (text, _) in _GAUGES.items()}
        latency = HistogramMetricFamily("tracedrop_delivery_latency_seconds",
                                        "From accepted (202) to written", labels=LABELS)
        for destination_id, status in statuses.items():
            labels = [workspaces[destination_id], destination_id]
            for name, family in counters.items():
                family.add_metric(labels, float(status.count(name)))
            for name, (_, read) in _GAUGES.items():
                gauges[name].add_metric(labels, float(read(status)))
            buckets, total = _buckets(status)
            latency.add_metric(labels, buckets, total)
        yield from counters.values()
        yield from gauges.values()
        yield latency


def _buckets(status: Status) -> tuple[list[tuple[str, float]], float]:
    histogram = status.histogram
    cumulative, buckets = 0.0, []
    for bound in LATENCY_BUCKETS:
        cumulative += histogram.get(str(bound), 0.0)
        buckets.append((str(bound), cumulative))
    cumulative += histogram.get("+Inf", 0.0)
    buckets.append(("+Inf", cumulative))
    return buckets, histogram.get("sum", 0.0)
