"""Group commit: the accepts an api process makes on its event loop while another of theirs is in Redis are sent
together, as one accept script, when it returns.

A trace a request; 64 requests in flight: each paid a script call of its own (the asyncio client's command, a
round trip, the script's own start in Redis), more than reading and storing its trace cost. Now one call is in
flight per group (a workspace, its routing version and ingest key, its limits); requests arriving meanwhile wait
for the next call and share it. Nothing waits when nothing else is in flight, so one request alone is answered as
soon as before; under load, calls grow instead of multiplying.

Every guarantee holds for each request as before: it is answered after the script that stored its traces returned
(and the replicas acknowledged them, when asked), with that script's outcome. A joined call stores all its traces
or none, and every check the script makes (the routing version, the key, the workspace's cap) was one the requests
it joined would each have passed or failed alike, as they share those.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from worker.outbox import Guard, NotReplicated, Outbox, Stored

GROUP_TRACES = 256
"""Traces one joined call stores at most (requests beyond wait for the next call): bounds the script's
arguments, and the time Redis spends in one script."""

Owed = list[tuple[bytes, list[str]]]


@dataclass(frozen=True)
class _Group:
    workspace: str
    replicas: int
    cap: int
    guard: Guard | None
    announcing: frozenset[str]


@dataclass(slots=True)
class _Waiting:
    owed: Owed
    answer: asyncio.Future[Stored]


class GroupCommit:
    """``accept`` as Outbox.accept_async takes it, joined with the calls of the same group made meanwhile."""

    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox
        self._waiting: dict[_Group, list[_Waiting]] = {}
        """Per group with a call in flight, the requests waiting for the next."""
        self._calls: set[asyncio.Task[None]] = set()

    async def accept(self, owed: Owed, *, workspace: str = "", replicas: int = 0, cap: int = 0,
                     guard: Guard | None = None, announcing: Collection[str] = ()) -> Stored:
        group = _Group(workspace, replicas, cap, guard, frozenset(announcing))
        waiting = self._waiting.get(group)
        if waiting is not None:
            answer: asyncio.Future[Stored] = asyncio.get_running_loop().create_future()
            waiting.append(_Waiting(owed, answer))
            return await answer
        self._waiting[group] = []
        try:
            return await self._call(group, owed)
        finally:
            self._next(group)

    def _call(self, group: _Group, owed: Owed) -> Any:
        return self.outbox.accept_async(owed, workspace=group.workspace, replicas=group.replicas, cap=group.cap,
                                        guard=group.guard, announcing=group.announcing)

    def _next(self, group: _Group) -> None:
        """The call in flight for ``group`` returned: send the next with the requests that waited, if any."""
        waiting = self._waiting.pop(group)
        if not waiting:
            return
        taken, traces = 0, 0
        while taken < len(waiting) and (taken == 0 or traces + len(waiting[taken].owed) <= GROUP_TRACES):
            traces += len(waiting[taken].owed)
            taken += 1
        self._waiting[group] = waiting[taken:]
        call = asyncio.get_running_loop().create_task(self._joined(group, waiting[:taken]))
        self._calls.add(call)
        call.add_done_callback(self._calls.discard)

    async def _joined(self, group: _Group, joined: list[_Waiting]) -> None:
        try:
            stored = await self._call(group, [trace for request in joined for trace in request.owed])
        except NotReplicated as exc:
            for request, part in zip(joined, _split(exc.stored, joined), strict=True):
                _answer(request, error=NotReplicated(part, exc.acknowledged, exc.required))
        except asyncio.CancelledError:  # the process is stopping
            for request in joined:
                request.answer.cancel()
            raise
        except Exception as exc:  # the script's refusal or Redis's failure: every request's own
            for request in joined:
                _answer(request, error=exc)
        else:
            for request, part in zip(joined, _split(stored, joined), strict=True):
                _answer(request, stored=part)
        finally:
            self._next(group)


def _split(stored: Stored, joined: list[_Waiting]) -> list[Stored]:
    """Each request's part of a joined call's ids, in the order its traces were sent; each is told the
    destinations to announce (the announcer coalesces them)."""
    parts, start = [], 0
    for request in joined:
        parts.append(Stored(stored.trace_ids[start:start + len(request.owed)], stored.announce))
        start += len(request.owed)
    return parts


def _answer(request: _Waiting, *, stored: Stored | None = None, error: Exception | None = None) -> None:
    if request.answer.done():  # its request was cancelled meanwhile: its traces are stored all the same
        return
    if error is not None:
        request.answer.set_exception(error)
    else:
        request.answer.set_result(stored)  # type: ignore[arg-type]
