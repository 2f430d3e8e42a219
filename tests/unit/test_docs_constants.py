"""Prose that restates a constant agrees with the code.

Every number README.md and docs/ keep from worker/ or api/ is listed here with the sentence that carries it and the
constant it restates. A sentence reworded, a number edited or a constant changed fails the test: change the docs
and the code together, or drop the number from the prose (and its line here).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from api import admission, announcer, group_commit, ingest_cache, lockout
from api import ingest as api_ingest
from api.body import MAX_GZIP_MEMBERS
from api.deps import WORKSPACE_PATTERN
from api.formats import answers, bounds
from api.page import session
from api.routes import destinations
from worker import (
    bodies,
    celery_app,
    egress,
    lease,
    maintenance,
    outbox,
    paths,
    re2,
    retry,
    runtime,
    supervisor,
)
from worker import tasks as worker_tasks
from worker.batch import export, parquet, record
from worker.batch.outbox import LEASE_MS as EXPORT_LEASE_MS
from worker.cli import api as api_command
from worker.kinds.datadog import config as datadog_config
from worker.kinds.mlflow import config as mlflow_config
from worker.kinds.postgres import client as postgres_client
from worker.kinds.postgres import conntest as postgres_conntest
from worker.kinds.postgres import writer as postgres_writer
from worker.kinds.posthog import config as posthog_config
from worker.kinds.s3 import bucket, conntest
from worker.kinds.s3 import writer as s3_writer
from worker.kinds.s3.config import S3Config
from worker.kinds.webhook import client as webhook_client
from worker.kinds.webhook import config as webhook_config
from worker.kinds.webhook import errors as webhook_errors
from worker.kinds.webhook import signing
from worker.kinds.webhook import writer as webhook_writer
from worker.redaction import config as redaction_config
from worker.redaction import redact
from worker.rules import config as rules_config
from worker.settings import MIN_ADMIN_TOKEN, MIN_SECRET_KEY, Settings
from worker.trace import MAX_BODY_DEPTH, MAX_EPOCH_MS, TraceIn

ROOT = Path(__file__).parents[2]

Q = r"(\d[\d,]*(?:\.\d+)?(?: ?(?:ms|s|minutes?|hours?|bytes|KiB|MiB))?|a second|second|one|two|three|four)"
"""A quantity as the docs write it: ``1.5 s``, ``10 minutes``, ``64 KiB``, ``10,485,760``, ``two``, ``second``."""

UNITS = {"ms": 1, "s": 1000, "second": 1000, "minute": 60_000, "minutes": 60_000, "hour": 3_600_000,
         "hours": 3_600_000, "bytes": 1, "KiB": 1024, "MiB": 1024 * 1024}
WORDS = {"a second": 1000, "second": 1000, "one": 1, "two": 2, "three": 3, "four": 4}


def quantity(text: str) -> float:
    """A quantity in the unit the claims compare in: milliseconds for times, bytes for sizes, else the number."""
    if text in WORDS:
        return WORDS[text]
    number, _, unit = text.partition(" ")
    if not unit:
        number, unit = re.fullmatch(r"([\d,.]+)(\D*)", text).groups()  # type: ignore[union-attr]
    return float(number.replace(",", "")) * UNITS.get(unit, 1)


CODES = r"(\d{3}(?:(?:,| or| and) \d{3})*)"
"""A list of HTTP statuses as the docs write it: ``400, 413 or 422``."""


def codes(text: str) -> frozenset[int]:
    """``400, 413 or 422`` -> the set of statuses."""
    return frozenset(int(code) for code in re.findall(r"\d{3}", text))


def codes_or_quantity(text: str) -> object:
    """For a sentence that lists statuses and quantities: a list (``408, 425, 429``) is statuses, anything else
    (``0.5 s``, ``512``) a quantity."""
    return codes(text) if "," in text else quantity(text)


@dataclass(frozen=True)
class Claim:
    page: str
    sentence: str
    """A regex over the page with its whitespace collapsed; each group is one number the code must agree with."""
    code: tuple[object, ...]
    """What the code says, one value per group, in the unit ``read`` gives."""
    read: Callable[[str], object] = quantity


def ms(seconds: float) -> float:
    return seconds * 1000


def schema(model: type, field: str) -> dict[str, object]:
    """A pydantic model's JSON schema of one field (the non-null branch of an optional one)."""
    found: dict[str, object] = model.model_json_schema()["properties"][field]  # type: ignore[attr-defined]
    for branch in found.get("anyOf", []):  # type: ignore[attr-defined]
        if branch.get("type") != "null":
            return dict(branch)
    return found


def setting(name: str, *keys: str) -> tuple[object, ...]:
    """A setting's default and bounds, as its JSON schema states them."""
    return tuple(schema(Settings, name)[key] for key in keys)


CLAIMS = {
    # docs/ingest.md: what one request costs
    "ingest cache": Claim("docs/ingest.md", rf"A request that stores nothing may use what was read up to {Q} before",
                          (ms(ingest_cache.KEY_KEEP_S),)),
    "announcer": Claim("docs/ingest.md", rf"a thread of each api process sends, at most every {Q}, one Celery message "
                       rf"per destination naming the traces stored meanwhile \(up to {Q} of them",
                       (ms(announcer.EVERY_S), announcer.MAX_IDS)),
    "ingest inline": Claim("docs/ingest.md", rf"A body of up to {Q} \(inflated\) holding up to {Q} traces is read, "
                           r"validated, routed and stored on the api's event loop",
                           (api_ingest.INLINE_BYTES, api_ingest.INLINE_TRACES)),
    "ingest inline in performance": Claim("docs/performance.md", rf"a body of up to {Q} \(and {Q} traces\) is read, "
                                          rf"validated and stored on the event loop.*?a larger body still goes to "
                                          rf"one of {Q} ingest threads",
                                          (api_ingest.INLINE_BYTES, api_ingest.INLINE_TRACES, api_ingest.THREADS)),
    "group commit": Claim("docs/ingest.md", rf"then all go at once, sharing script calls of up to {Q} traces each",
                          (group_commit.GROUP_TRACES,)),
    "announced mark": Claim("docs/ingest.md", rf"The mark lasts at most {Q}: a message lost", (outbox.ANNOUNCED_MS,)),
    "announcer in performance": Claim("docs/performance.md", rf"a thread that sends one message per destination every "
                                      rf"{Q}", (ms(announcer.EVERY_S),)),
    "in flight in performance": Claim("docs/performance.md", rf"`TRACEDROP_MAX_INGEST_IN_FLIGHT` at its default {Q}",
                                      setting("max_ingest_in_flight", "default")),
    "in flight": Claim("docs/configuration.md", rf"\| `TRACEDROP_MAX_INGEST_IN_FLIGHT` \| `{Q}` \| ingest requests "
                       rf"one api process works on at once \({Q} to {Q}\); one more is answered 503 `overloaded` "
                       rf"with `Retry-After: {Q}`",
                       (*setting("max_ingest_in_flight", "default", "minimum", "maximum"), admission.RETRY_AFTER_S)),
    # docs/delivery.md: the outbox, the reconciler, retries and probes
    "lease": Claim("docs/delivery.md", rf"\*now \+ {Q}\* while a worker holds it \(the lease, renewed every {Q} "
                   rf"while its writes run, for at most {Q}\)",
                   (lease.LEASE_MS, lease.RENEW_MS, lease.MAX_HOLD_MS)),
    "reconciler": Claim("docs/delivery.md", rf"The heartbeat runs the reconciler every {Q}: a destination owed a "
                        rf"trace that has been due for more than {Q} with nobody working on it",
                        (ms(celery_app.RECONCILE_EVERY), runtime.STALE_MS)),
    "reconciler heartbeat": Claim("docs/delivery.md", rf"The heartbeat runs the reconciler every {Q}",
                                  (ms(maintenance.EVERY),)),
    "reconciler throttle": Claim("docs/delivery.md", rf"each destination at most once every {Q}\.",
                                 (worker_tasks.KICK_TTL_MS,)),
    "transient backoff": Claim("docs/delivery.md", rf"full jitter \({Q} doubling to {Q}, or a receiver's or "
                               rf"store's longer `Retry-After`, honoured up to {Q}\)",
                               (retry.TRANSIENT.base_ms, retry.TRANSIENT.cap_ms, retry.RETRY_AFTER_CAP_MS)),
    "probe backoff": Claim("docs/delivery.md", rf"probes it every {Q} doubling to {Q},",
                           (retry.PROBE.base_ms, retry.PROBE.cap_ms)),
    "refusals": Claim("docs/delivery.md", rf"a webhook's {CODES} for that trace alone",
                      (webhook_errors.REFUSALS,), codes),
    "drain budget": Claim("docs/delivery.md", rf"drains one destination for at most {Q} before yielding",
                          (ms(runtime.DRAIN_BUDGET),)),
    "body header": Claim("docs/delivery.md", r"one Redis string holding a (\d+)-byte header",
                         (outbox.HEADER_BYTES,)),
    "body level": Claim("docs/delivery.md", r"its body compressed with zstd \(level (\d+)\)", (bodies.LEVEL,)),
    "dictionary": Claim("docs/delivery.md", rf"ingest also keeps the newest {Q} bodies owed to a destination as "
                        rf"samples \(`td:zds`\); the heartbeat then trains a {Q} dictionary",
                        (bodies.SAMPLES, bodies.DICTIONARY_BYTES)),
    "dictionary refresh": Claim("docs/delivery.md", rf"every api compresses new bodies with it within {Q}\.",
                                (ms(bodies.REFRESH_S),)),
    # docs/architecture.md: the heartbeat and the drain
    "heartbeat": Claim("docs/architecture.md", rf"\*\*The heartbeat\*\*, every {Q}: .* the worker holding a {Q} "
                       r"lease in Redis \(`td:heartbeat`\) beats",
                       (ms(maintenance.EVERY), maintenance.LEASE_MS)),
    "lanes per task": Claim("docs/architecture.md", rf"A worker task drains one destination on {Q} lanes at once",
                            (runtime.LANES_PER_TASK,)),
    "task budget": Claim("docs/architecture.md", rf"the task keeps draining for up to {Q}, then hands the rest",
                         (ms(runtime.DRAIN_BUDGET),)),
    "lanes": Claim("docs/architecture.md", rf"A destination is drained on at most {Q} lanes at once\. One that is "
                   rf"new, failing or slow \(a batch in flight for over {Q}\)",
                   (runtime.LANES, lease.SLOW_MS)),
    "trial": Claim("docs/architecture.md", rf"is tried with claims of {Q} traces, so it proves itself with one "
                   rf"round of writes and a failed attempt reschedules {Q} traces",
                   (runtime.TRIAL, runtime.TRIAL)),
    "invites": Claim("docs/architecture.md", r"The task that writes its first whole batch announces the "
                     r"destination (once) more", (runtime.INVITES,), lambda text: {"once": 1}[text]),
    "s3 claim": Claim("docs/architecture.md", rf"An S3 destination claims up to {Q} traces at once otherwise\.",
                      (s3_writer.TRACES_PER_CLAIM,)),
    "s3 in flight": Claim("docs/architecture.md", rf"on the process's one event loop, {Q} in flight;",
                          (bucket.MAX_IN_FLIGHT,)),
    "webhook claim": Claim("docs/architecture.md", rf"A webhook destination claims what fills up to {Q} requests",
                           (webhook_writer.REQUESTS_PER_CLAIM,)),
    # docs/configuration.md: settings and the command line
    "settings": Claim("docs/configuration.md", r"\| `TRACEDROP_REDIS_MIN_REPLICAS` \| `(\d+)` \| .*? "
                      r"\| `TRACEDROP_MAX_TRACE_BYTES` \| `(\d+)` \| .*? "
                      r"\| `TRACEDROP_MAX_TRACES_PER_REQUEST` \| `(\d+)` \| .*? "
                      r"\| `TRACEDROP_MAX_REQUEST_BYTES` \| `(\d+)` \| .*? "
                      r"\| `TRACEDROP_MAX_WORKSPACE_BYTES` \| `(\d+)` \|",
                      tuple(Settings.model_fields[name].default for name in (
                          "redis_min_replicas", "max_trace_bytes", "max_traces_per_request", "max_request_bytes",
                          "max_workspace_bytes"))),
    "admin token": Claim("docs/configuration.md", r"at least (\d+) characters: a shorter one stops the process at "
                         r"start", (MIN_ADMIN_TOKEN,)),
    "admin token production": Claim("docs/production.md", r"the settings page, at least (\d+) characters",
                                    (MIN_ADMIN_TOKEN,)),
    "secret key production": Claim("docs/production.md", r"secrets at rest, at least (\d+) characters",
                                   (MIN_SECRET_KEY,)),
    "secret key": Claim("docs/configuration.md", r"HKDF-SHA256\), at least (\d+) characters and not a few",
                        (MIN_SECRET_KEY,)),
    "server settings": Claim("docs/configuration.md", r"\| `TRACEDROP_MAX_CONNECTIONS` \| `(\d+)` \| open connections "
                             r"per api process \((\d+) or more\);.*? \| `TRACEDROP_MAX_HEADER_BYTES` \| `(\d+)` \| "
                             r"request line and headers of one request \((\d+) to (\d+)\);.*? "
                             r"\| `TRACEDROP_MAX_HEADERS` \| `(\d+)` \| headers of one request \((\d+) to (\d+)\);.*? "
                             r"\| `TRACEDROP_HEADER_TIMEOUT` \| `(\d+)` \| seconds \(up to (\d+)\).*? "
                             r"\| `TRACEDROP_BODY_IDLE_TIMEOUT` \| `(\d+)` \| seconds \(up to (\d+)\).*? "
                             r"\| `TRACEDROP_KEEP_ALIVE_TIMEOUT` \| `(\d+)` \| seconds \((\d+) to (\d+)\)",
                             (*setting("max_connections", "default", "minimum"),
                              *setting("max_header_bytes", "default", "minimum", "maximum"),
                              *setting("max_headers", "default", "minimum", "maximum"),
                              *setting("header_timeout", "default", "maximum"),
                              *setting("body_idle_timeout", "default", "maximum"),
                              *setting("keep_alive_timeout", "default", "minimum", "maximum"))),
    "replica wait": Claim("docs/configuration.md", rf"\(Redis `WAIT`, at most {Q}\)", (outbox.REPLICA_WAIT_MS,)),
    "api options": Claim("docs/configuration.md", r"`tracedrop api \[--host ([\d.]+)\] \[--port (\d+)\] "
                         r"\[--workers (\d+)\]`",
                         tuple(str(option.default) for option in api_command.params), str),
    # docs/ingest.md: what a trace may carry
    "trace id": Claim("docs/ingest.md", r"`id` \((\d+)\u2013(\d+) chars of `\[A-Za-z0-9\._:-\]`\)",
                      tuple(map(float, re.findall(r"\{(\d+),(\d+)\}", str(schema(TraceIn, "id")["pattern"]))[0]))),
    "trace status": Claim("docs/ingest.md", r"`status_code` (\d+)\u2013(\d+);",
                          (schema(TraceIn, "status_code")["minimum"], schema(TraceIn, "status_code")["maximum"])),
    "trace names": Claim("docs/ingest.md", r"names and ids strings of at most (\d+) characters",
                         (schema(TraceIn, "user")["maxLength"],)),
    "trace years": Claim("docs/ingest.md", r"must fall between 1970 and (\d+) in UTC",
                         (datetime.fromtimestamp(MAX_EPOCH_MS / 1000 - 1, UTC).year,)),
    "trace depth": Claim("docs/ingest.md", r"may nest at most (\d+) levels deep", (MAX_BODY_DEPTH,)),
    "gzip members": Claim("docs/ingest.md", r"A body may hold at most (\d[\d,]*) gzip members", (MAX_GZIP_MEMBERS,)),
    "json elements": Claim("docs/ingest.md", r"a JSON body over (\d[\d,]*) bytes is counted first: more commas and "
                           r"brackets than (\d[\d,]*) or one per (\d+) bytes",
                           (bounds.MAX_ELEMENTS, bounds.MAX_ELEMENTS, bounds.BYTES_PER_ELEMENT)),
    "otlp spans": Claim("docs/ingest.md", r"An OTLP request may carry at most (\d[\d,]*) spans", (bounds.MAX_SPANS,)),
    "protobuf elements": Claim("docs/ingest.md", r"a protobuf body over (\d[\d,]*) bytes is counted too: more than "
                               r"(\d[\d,]*) messages", (2 * bounds.MAX_ELEMENTS, bounds.MAX_ELEMENTS)),
    # docs/destinations.md, docs/admin-api.md, docs/settings-page.md
    "connection tests": Claim("docs/destinations.md", r"Connection tests are rate limited to (\d+) a minute per "
                              r"workspace", (destinations.TESTS_PER_MINUTE,)),
    "backlog bytes": Claim("docs/admin-api.md", r"summed over the first (\d+) and scaled to the backlog beyond",
                           (outbox.BYTES_SAMPLE,)),
    "session": Claim("docs/settings-page.md", rf"whose session lives in Redis for {Q},", (ms(session.TTL_SECONDS),)),
    "sign-in": Claim("docs/settings-page.md", rf"after (\d+) from one client, sign-in answers `429` to it until {Q} "
                     r"pass without an attempt", (lockout.MAX_FAILURES, ms(lockout.WINDOW_SECONDS))),
    "failed authentication": Claim("docs/admin-api.md", rf"After (\d+) failures a client is answered `429` "
                                   rf"`too_many_failures` with `Retry-After`, whatever it sends, the right token "
                                   rf"included, until {Q} pass without an attempt",
                                   (lockout.MAX_FAILURES, ms(lockout.WINDOW_SECONDS))),
    "workspace names": Claim("docs/admin-api.md", r"`\{ws\}` is 1 to (\d+) of `a-z`, `0-9`, `_` and `-`",
                             (int(re.findall(r"\{0,(\d+)\}", WORKSPACE_PATTERN)[0]) + 1,)),
    # docs/s3.md
    "s3 fields": Claim("docs/s3.md", r"`limit` over (\d+), `every` under (\d+),",
                       (schema(S3Config, "limit")["maximum"], schema(S3Config, "every")["minimum"])),
    "s3 batch table": Claim("docs/s3.md", r"\| `every` \| `(\d+)` \| seconds between export cycles \(at least "
                            rf"(\d+); the scheduler ticks every {Q}\) \| \| `limit` \| `(\d+)` \| at most this many "
                            r"records per file \(at most (\d+)\) \|",
                            (schema(S3Config, "every")["default"], schema(S3Config, "every")["minimum"],
                             ms(maintenance.EVERY), schema(S3Config, "limit")["default"],
                             schema(S3Config, "limit")["maximum"])),
    "s3 test deadline": Claim("docs/s3.md", rf"The test answers within {Q}: the write gets {Q}, and the delete "
                              rf"what is left \(at least {Q}\)",
                              (ms(conntest.DEADLINE), ms(conntest.DEADLINE - conntest.DELETE_RESERVE),
                               ms(conntest.DELETE_RESERVE))),
    "s3 test timeout": Claim("docs/s3.md", rf"did not answer in time \({Q} connect, {Q} read, {Q} for the write\)",
                             (ms(egress.CONNECT_TIMEOUT), ms(egress.READ_TIMEOUT),
                              ms(conntest.DEADLINE - conntest.DELETE_RESERVE))),
    "s3 writes": Claim("docs/s3.md", rf"over at most {Q} connections; a drain task works a destination on {Q} "
                       rf"lanes, each claiming up to {Q} traces \({Q} while the destination is new or failing\) and "
                       rf"writing them {Q} at a time",
                       (bucket.MAX_IN_FLIGHT, runtime.LANES_PER_TASK, s3_writer.TRACES_PER_CLAIM, runtime.TRIAL,
                        bucket.MAX_IN_FLIGHT)),
    "s3 timeouts": Claim("docs/s3.md", rf"honoured; {Q} to connect and {Q} per read;",
                         (ms(egress.CONNECT_TIMEOUT), ms(egress.READ_TIMEOUT))),
    "s3 expect": Claim("docs/s3.md", rf"`Expect: 100-continue` only for bodies over {Q}\.",
                       (bucket.EXPECT_CONTINUE_BYTES,)),
    "s3 retry-after": Claim("docs/s3.md", rf"holds the destination at least that long \(up to {Q}\)",
                            (retry.RETRY_AFTER_CAP_MS,)),
    "s3 values": Claim("docs/s3.md", rf"values are cut at {Q}\.", (paths.MAX_VALUE_BYTES,)),
    "s3 keys": Claim("docs/s3.md", rf"a template whose longest possible key exceeds {Q} is refused",
                     (paths.MAX_KEY_BYTES,)),
    "s3 file size": Claim("docs/s3.md", rf"once its records' stored \(compressed\) size reaches {Q}\.",
                          (export.MAX_FILE_SOURCE_BYTES,)),
    "s3 export lease": Claim("docs/s3.md", rf"free {Q} after its holder dies", (EXPORT_LEASE_MS,)),
    # docs/destinations.md
    "answer cap": Claim("docs/destinations.md", rf"Every answer's body is read up to {Q}, whatever its size \(the "
                        rf"rest is never read: the connection is closed\), and a message or dead letter shows at "
                        rf"most {Q} of it", (egress.ANSWER_BYTES, egress.EXCERPT_BYTES)),
    # read timeouts: docs/delivery.md, docs/vendors.md
    "read timeouts": Claim("docs/delivery.md", rf"Every connection to a destination gets {Q} to open\. Then each "
                           rf"read of the answer gets {Q} by default",
                           (ms(egress.CONNECT_TIMEOUT), ms(egress.READ_TIMEOUT))),
    "read timeouts table": Claim("docs/delivery.md", rf"\| every other kind \| {Q} \| .* \| `mlflow` \| {Q} \|",
                                 (ms(egress.READ_TIMEOUT), ms(mlflow_config.READ_TIMEOUT))),
    "slow receiver test": Claim("docs/delivery.md", rf"a receiver answering its first requests after more than {Q} "
                                r"gets each trace once", (ms(egress.READ_TIMEOUT),)),
    "vendor read timeouts": Claim("docs/vendors.md", rf"Every vendor here waits {Q} for each read of an answer, "
                                  rf"except MLflow \({Q}:", (ms(egress.READ_TIMEOUT), ms(mlflow_config.READ_TIMEOUT))),
    "mlflow read timeout": Claim("docs/vendors.md", rf"\*\*Read timeout: {Q}\*\*, for deliveries and the connection "
                                 rf"test alike \(every other kind: {Q}\)",
                                 (ms(mlflow_config.READ_TIMEOUT), ms(egress.READ_TIMEOUT))),
    # docs/webhooks.md
    "webhook headers": Claim("docs/webhooks.md", r"sent with every request, at most (\d+)\.",
                             (webhook_config.MAX_HEADERS,)),
    "webhook batch": Claim("docs/webhooks.md", r"\| `batch_size` \| `(\d+)` \| traces per request, (\d+) to (\d+) \|",
                           (schema(webhook_config.WebhookConfig, "batch_size")["default"],
                            schema(webhook_config.WebhookConfig, "batch_size")["minimum"],
                            schema(webhook_config.WebhookConfig, "batch_size")["maximum"])),
    "webhook batch refused": Claim("docs/webhooks.md", r"a `batch_size` outside (\d+)-(\d+),",
                                   (schema(webhook_config.WebhookConfig, "batch_size")["minimum"],
                                    schema(webhook_config.WebhookConfig, "batch_size")["maximum"])),
    "webhook secret": Claim("docs/webhooks.md", r"`whsec_` followed by base64 of (\d+) to (\d+) bytes",
                            signing.SECRET_BYTES),
    "webhook secret refused": Claim("docs/webhooks.md", r"`whsec_<base64 of (\d+)-(\d+) bytes>`",
                                    signing.SECRET_BYTES),
    "webhook test timeout": Claim("docs/webhooks.md", rf"\| `timeout` \| no connection within {Q}, or no answer "
                                  rf"within {Q} \|", (ms(egress.CONNECT_TIMEOUT), ms(egress.READ_TIMEOUT))),
    "webhook delivery": Claim("docs/webhooks.md", rf"up to {Q} requests of a claimed batch at once, over at most "
                              rf"{Q} connections per worker process .* each with {Q} to connect and {Q} to read, no "
                              rf"redirects followed\. The answer's body is read up to {Q} and never stored beyond "
                              rf"the first {Q} of a message\.",
                              (webhook_writer.REQUESTS_PER_CLAIM, webhook_client.MAX_IN_FLIGHT,
                               ms(egress.CONNECT_TIMEOUT), ms(egress.READ_TIMEOUT), egress.ANSWER_BYTES,
                               egress.EXCERPT_BYTES)),
    "webhook transient": Claim("docs/webhooks.md", rf"\| {CODES}, 5xx, timeouts, refused or reset connections \| "
                               rf"transient: retried with backoff \({Q} doubling to {Q}\), or after `Retry-After` "
                               rf"\(seconds or a date, honoured up to {Q}\)",
                               (webhook_errors.TRANSIENT, retry.TRANSIENT.base_ms, retry.TRANSIENT.cap_ms,
                                retry.RETRY_AFTER_CAP_MS),
                               codes_or_quantity),
    "answer decoding": Claim("docs/webhooks.md", rf"as far as the bytes read go: a body cut at {Q} still shows its "
                             rf"start\)", (egress.ANSWER_BYTES,)),
    "webhook refusals": Claim("docs/webhooks.md", rf"\| {CODES} \| the request is split and its traces sent one per "
                              rf"request; .* the first bytes \(at most {Q}\) of the answer \|",
                              (webhook_errors.REFUSALS, egress.EXCERPT_BYTES),
                              codes_or_quantity),
    # docs/batch-files.md, docs/gateways.md, docs/redis-sentinel.md, docs/performance.md
    "record version": Claim("docs/batch-files.md", r"\| `ver` \| integer \| `(\d+)` \|", (record.VERSION,)),
    "record schema": Claim("docs/batch-files.md", r"the record schema \(ver (\d+)\)", (record.VERSION,)),
    "record schema heading": Claim("docs/s3.md", r"### Record schema \(ver (\d+)\)", (record.VERSION,)),
    "parquet level": Claim("docs/batch-files.md", r"every column zstd-compressed \(level (\d+)\)",
                           (parquet.ZSTD_LEVEL,)),
    "partial success": Claim("docs/gateways.md", r"names each one's field and reason \(the first (\d+)\)",
                             (answers._LISTED,)),
    "sentinel wait": Claim("docs/redis-sentinel.md", rf"Redis `WAIT` on the same connection, for at most {Q}\)",
                           (outbox.REPLICA_WAIT_MS,)),
    "sentinel not replicated": Claim("docs/redis-sentinel.md", rf"a trace is answered `503` `not_replicated` after "
                                     rf"{Q},", (outbox.REPLICA_WAIT_MS,)),
    "parquet columns": Claim("docs/performance.md", r"the cost query reads two of (\d+) columns",
                             (len(parquet.SCHEMA),)),
    "replay hold": Claim("docs/delivery.md", rf"up to the backoff's {Q}, or a `Retry-After`'s {Q}\)",
                         (retry.TRANSIENT.cap_ms, retry.RETRY_AFTER_CAP_MS)),
    # docs/configuration.md: tracedrop up
    "up backoff": Claim("docs/configuration.md", rf"started again after a backoff of {Q}, growing to {Q} while",
                        (ms(supervisor.BACKOFF[0]), ms(supervisor.BACKOFF[-1]))),
    "up grace": Claim("docs/configuration.md", rf"each with SIGTERM and {Q} to exit", (ms(supervisor.GRACE),)),
    # docs/vendors.md
    "datadog batch": Claim("docs/vendors.md", r"application/json`, up to (\d+) spans a request",
                           (datadog_config.BATCH_SIZE,)),
    "datadog ml_app": Claim("docs/vendors.md", r"lowercase letters, digits, `_`, `-`, `:`, `\.`, `/`, up to (\d+) "
                            r"characters", (schema(datadog_config.DatadogConfig, "ml_app")["maxLength"],)),
    "posthog batch": Claim("docs/vendors.md", r"application/json`, up to (\d+) events a request",
                           (posthog_config.BATCH_SIZE,)),
    # docs/postgres.md
    "postgres batch": Claim("docs/postgres.md", rf"Each claimed batch \(up to {Q} traces\) is written by one `COPY`",
                            (postgres_writer.TRACES_PER_CLAIM,)),
    "postgres batch limit": Claim("docs/postgres.md", rf"Rows are written in batches of up to {Q} traces",
                                  (postgres_writer.TRACES_PER_CLAIM,)),
    "postgres test statements": Claim("docs/postgres.md", rf"Each statement of the test gives up after {Q}\.",
                                      (postgres_conntest.STATEMENT_TIMEOUT_MS,)),
    "postgres test timeout": Claim("docs/postgres.md", rf"\| `timeout` \| nothing answered within {Q},",
                                   (ms(egress.CONNECT_TIMEOUT),)),
    "postgres timeouts": Claim("docs/postgres.md", rf"a statement past {Q}, a lock not granted within {Q},",
                               (postgres_client.STATEMENT_TIMEOUT_MS, postgres_client.LOCK_TIMEOUT_MS)),
    "postgres connect": Claim("docs/postgres.md", rf"open within {Q}, and ask for a read-write server",
                              (ms(egress.CONNECT_TIMEOUT),)),
    "postgres pool": Claim("docs/postgres.md", rf"a pool of at most {Q} connections per PostgreSQL destination .* "
                           rf"closed after {Q} unused",
                           (postgres_client.POOL_SIZE, ms(postgres_client.IDLE_SECONDS))),
    "postgres lanes": Claim("docs/postgres.md", rf"written on at most {Q} lanes across all workers",
                            (runtime.LANES,)),
    "postgres bench batch": Claim("docs/performance.md", rf"in batches of {Q} \(the writer's claim\)",
                                  (postgres_writer.TRACES_PER_CLAIM,)),
    "postgres sizing": Claim("docs/postgres.md", r"max_connections >= (\d+) \*", (postgres_client.POOL_SIZE,)),
    # docs/rules-and-redaction.md
    "rule limits": Claim("docs/rules-and-redaction.md", r"At most (\d+) groups of at most (\d+) rules\.",
                         (rules_config.MAX_GROUPS, rules_config.MAX_RULES)),
    "pattern length": Claim("docs/rules-and-redaction.md", r"A pattern has at most (\d+) characters; so has a text "
                            r"value\.", (re2.MAX_PATTERN,)),
    "value length": Claim("docs/rules-and-redaction.md", r"A pattern has at most (\d+) characters",
                          (rules_config.MAX_VALUE,)),
    "patterns": Claim("docs/rules-and-redaction.md", r"refused with a `422` like a rule's\. At most (\d+)\.",
                      (redaction_config.MAX_PATTERNS,)),
    "dropped": Claim("docs/rules-and-redaction.md", r"paths to remove whole \(below\)\. At most (\d+)\.",
                     (redaction_config.MAX_DROPPED,)),
    "hash token": Claim("docs/rules-and-redaction.md", r"its label and the first (\d+) hex digits of an HMAC",
                        (redact.TOKEN_HEX,)),
}


def prose(page: str) -> str:
    return " ".join((ROOT / page).read_text().split())


@pytest.mark.parametrize("name", CLAIMS)
def test_each_number_the_docs_keep_is_the_constant_it_restates(name: str) -> None:
    # Given a sentence of the docs that restates constants of the code
    claim = CLAIMS[name]

    # When it is found on its page
    found = re.findall(claim.sentence, prose(claim.page))

    # Then every number in it is what the code says
    assert found, f"{claim.page} no longer says this ({name}): update the docs, or drop the claim"
    for match in found:
        groups = match if isinstance(match, tuple) else (match,)
        assert tuple(claim.read(group) for group in groups) == tuple(claim.code), f"{claim.page}: {name}"


def test_the_quantities_read_as_the_docs_mean_them() -> None:
    assert quantity("1.5 s") == 1500
    assert quantity("10 minutes") == 600_000
    assert quantity("64 KiB") == 65536
    assert quantity("1 MiB") == 1024 * 1024
    assert quantity("10,485,760") == 10_485_760
    assert quantity("second") == 1000
    assert quantity("two") == 2
    assert codes("400, 413 or 422") == {400, 413, 422}


def test_the_webhook_answers_table_is_what_a_receiver_answer_means() -> None:
    # Given the statuses docs/webhooks.md lists with the code each leads to
    table = prose("docs/webhooks.md")
    rows = {"unauthorized": r"\| 401, 403 \| the destination is parked and probed .*? \| `unauthorized` \|",
            "not_found": r"\| 404, 405, 410 \| parked \| `not_found` \|"}
    for code, row in rows.items():
        found = re.search(row, table)
        assert found, f"docs/webhooks.md lists no row for {code}"

        # When each of them is answered, Then it is the documented error
        for status in codes(found.group(0)):
            error = webhook_errors.from_status(status, b"")
            assert error is not None and error.code == code, status


def test_the_postgres_ddl_in_the_docs_is_what_create_table_runs() -> None:
    from worker.kinds.postgres.config import TableName
    from worker.kinds.postgres.table import create

    # Given the DDL docs/postgres.md shows for "llm.traces"
    shown = re.search(r"```sql\n(CREATE SCHEMA.*?)```", (ROOT / "docs/postgres.md").read_text(), re.DOTALL)
    assert shown

    # Then it is, statement for statement, what the connection test runs
    ran = "; ".join(statement.as_string(None) for statement in create(TableName("llm", "traces"))) + ";"
    assert re.sub(r"\(\s+", "(", " ".join(shown.group(1).split())) == ran
