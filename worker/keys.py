"""Every Redis key tracedrop uses, named here and nowhere else: Python builds them with these functions and passes them
to the Lua scripts in KEYS (worker/scripts.py); a script builds only a trace's record key, from ``body("")``.

Per destination ``{id}``:

- ``td:o:{id}`` owed: sorted set of trace ids, scored by the millisecond at which each is next due.
- ``td:s:{id}`` stats: counters and state (``hold_until``, ``parked``, ``last_error``, ...).
- ``td:r:{id}`` retrying: owed traces that failed at least once.
- ``td:l:{id}`` lanes: drains in progress, each with a lease.
- ``td:a:{id}`` announced: set when the workers were told of new traces, until a lane finds nothing due (or it
  expires, at most ANNOUNCED_MS after; worker/outbox.py).
- ``td:dl:{id}``, ``td:dr:{id}`` dead letters and their reasons; ``td:h:{id}`` the latency histogram.
- ``td:b:{id}``, ``td:bm:{id}``, ``td:bl:{id}``, ``td:bk:{id}`` batch schedule, manifest, export lease, announced.
- ``td:dest:{id}`` the saved destination; ``td:kick:{id}``, ``td:probe:{id}`` reconciler announcement throttles.

Per trace ``td:t:{tid}`` the body and how many destinations still owe it; ``td:zd`` the id of the bodies' current
compression dictionary, ``td:zd:{id}`` each dictionary, ``td:zds`` the samples the next one is trained from. Per
workspace ``td:ws:{ws}`` (and ``td:ws:{ws}:...``) its settings, ``td:rl:{ws}`` the connection-test rate window; per
ingest key ``td:key:{digest}``.
Global: ``td:seq``, ``td:dests``, ``td:bdests``, ``td:wss`` (workspace names), ``td:m:*`` workspace counters
(``td:m:stored_bytes`` the stored bytes of each workspace's traces), ``td:bn:*`` batch file counters,
``td:heartbeat`` the heartbeat's lease. Admin authentication: ``td:sess:{digest}`` the settings page's sessions,
``td:authfail:{client}`` a client's failed attempts.
"""

from __future__ import annotations

SEQUENCE = "td:seq"
DESTINATIONS = "td:dests"
BATCH_DESTINATIONS = "td:bdests"
ACCEPTED = "td:m:accepted"
DISCARDED = "td:m:discarded"
SPANS_IGNORED = "td:m:spans_ignored"
STORED_BYTES = "td:m:stored_bytes"
"""Per workspace, the stored (compressed) bytes of its traces' records: added when accepted, taken off when a record
is released (worker/lua/lib/stored.lua)."""
WORKSPACES = "td:wss"
DICTIONARY = "td:zd"
DICTIONARY_SAMPLES = "td:zds"
HEARTBEAT = "td:heartbeat"
"""The lease of the worker that runs the heartbeat (reconciler, probes, batch ticks) now."""

_PER_DESTINATION = {"owed": "o", "stats": "s", "retrying": "r", "lanes": "l", "announced": "a", "dead_letters": "dl",
                    "dead_reasons": "dr", "histogram": "h", "schedule": "b", "manifest": "bm", "export_lease": "bl",
                    "export_announced": "bk"}
OUTBOX_FAMILIES = ("owed", "dead_letters", "dead_reasons", "stats", "histogram", "retrying", "lanes", "announced")
"""What the outbox holds for a destination (all removed when it is deleted)."""
BATCH_FAMILIES = ("schedule", "manifest", "export_lease", "export_announced")


def owed(destination_id: str) -> str:
    return f"td:o:{destination_id}"


def stats(destination_id: str) -> str:
    return f"td:s:{destination_id}"


def retrying(destination_id: str) -> str:
    return f"td:r:{destination_id}"


def lanes(destination_id: str) -> str:
    return f"td:l:{destination_id}"


def announced(destination_id: str) -> str:
    return f"td:a:{destination_id}"


def dead_letters(destination_id: str) -> str:
    return f"td:dl:{destination_id}"


def dead_reasons(destination_id: str) -> str:
    return f"td:dr:{destination_id}"


def histogram(destination_id: str) -> str:
    return f"td:h:{destination_id}"


def schedule(destination_id: str) -> str:
    return f"td:b:{destination_id}"


def manifest(destination_id: str) -> str:
    return f"td:bm:{destination_id}"


def export_lease(destination_id: str) -> str:
    return f"td:bl:{destination_id}"


def export_announced(destination_id: str) -> str:
    return f"td:bk:{destination_id}"


def families(destination_id: str, names: tuple[str, ...]) -> list[str]:
    return [f"td:{_PER_DESTINATION[name]}:{destination_id}" for name in names]


def body(trace_id: int | str) -> str:
    return f"td:t:{trace_id}"


def dictionary(dict_id: int) -> str:
    return f"td:zd:{dict_id}"


def destination(destination_id: str) -> str:
    return f"td:dest:{destination_id}"


def kick(destination_id: str) -> str:
    return f"td:kick:{destination_id}"


def probe(destination_id: str) -> str:
    return f"td:probe:{destination_id}"


def workspace(name: str) -> str:
    return f"td:ws:{name}"


def routes(workspace_name: str) -> str:
    """A workspace's destinations' routing rules, by destination id."""
    return f"td:ws:{workspace_name}:routes"


def routes_version(workspace_name: str) -> str:
    """Counts the changes of what ingest routes by (broadcast on or off, a destination's rules): an api process that
    routed by an older version has its accept refused, and reads them again."""
    return f"td:ws:{workspace_name}:rv"


def rate_window(workspace_name: str) -> str:
    return f"td:rl:{workspace_name}"


def ingest_key(digest: str) -> str:
    return f"td:key:{digest}"


def session(digest: str) -> str:
    """A settings-page session, by the SHA-256 of its cookie."""
    return f"td:sess:{digest}"


def auth_failures(client: str) -> str:
    """Admin authentication attempts of one client (an address, an IPv6 /64) that failed lately (api/lockout.py)."""
    return f"td:authfail:{client}"


def file_counter(digest: str) -> str:
    return f"td:bn:{digest}"
