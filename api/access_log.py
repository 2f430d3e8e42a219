"""One log line per request: method, path, status, workspace, what ingest did with the traces, and the time taken.

Plain ASGI around the app (it is on the ingest path: no task group, no copy of the request); a route adds what it
knows to ``scope["log"]`` (ingest: the workspace and the counts). The path is logged without its query string, and
no header is: nothing secret is ever in the line."""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("tracedrop.api.requests")
PROBES = frozenset({"/healthz", "/readyz", "/metrics"})
"""Not logged: asked every few seconds by orchestrators and scrapers, they would drown every other line."""


class AccessLog:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in PROBES or not log.isEnabledFor(logging.INFO):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def seen(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, seen)
        finally:
            event: dict[str, Any] = {"method": scope["method"], "path": scope["path"], "status": status}
            workspace = scope.get("path_params", {}).get("ws")
            if workspace is not None:
                event["workspace"] = workspace
            event.update(scope.get("log", ()))
            event["ms"] = round((time.perf_counter() - started) * 1000, 2)
            # the record made directly: ``log.info`` would walk the (deep) stack for a caller the line never shows
            log.handle(log.makeRecord(log.name, logging.INFO, __file__, 0, "request", (), None, extra=event))
