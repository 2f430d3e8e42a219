"""Group commit: the accepts an api process makes on its event loop while another of theirs is in Redis are sent
together, as one accept script, when it returns.

A trace a request; 64 requests in flight: each paid a script call of its own (the asyncio client's command, a
round trip, the script's own start in Redis), more than reading and storing its trace cost. Now the requests of a
group (a workspace, its routing version and ingest key, its limits, whether its traces are owed anywhere) that
arrive while a call of that group is in flight wait for it to return, and then all go at once, sharing calls of up
to GROUP_TRACES traces. Nothing waits when nothing else is in flight, so one request alone is answered as soon as
before; under load, calls grow instead of multiplying, and a request waits for one call before its own, never for
a queue of them (a slow call, such as a wait for replicas, is not paid twice in a row).

Every guarantee holds for each request as before: it is answered after the script that stored its traces returned
(and the replicas acknowledged them, when asked), with that script's outcome, however the call ended. A joined
call stores all its traces or none, and every check the script makes (the routing version, the key, the
workspace's cap) was one the requests it joined would each have passed or failed alike, as they share those.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Coroutine
from dataclasses import dataclass, field
from typing import Any

from redis.exceptions import ConnectionError

from worker.outbox import Guard, NotReplicated, Outbox, Stored

GROUP_TRACES = 256
"""Traces one joined call stores at most: bounds the script's arguments and the time Redis spends in one script.
The requests that waited are sent at once, in as many calls as that takes (a request larger than this, alone)."""

Owed = list[tuple[bytes, list[str]]]


@dataclass(frozen=True)
class _Group:
    workspace: str
    replicas: int
    cap: int
    guard: Guard | None
    announcing: frozenset[str]
    owes: bool
    """Whether any of the traces is owed to a destination: the script checks the workspace's cap only then."""


@dataclass(slots=True)
class _Waiting:
    owed: Owed
    answer: asyncio.Future[Stored]


@dataclass(slots=True)
class _InFlight:
    calls: int = 1
    waiting: list[_Waiting] = field(default_factory=list)
    """The requests that came meanwhile, sent when one of the calls returns."""


class GroupCommit:
    """``accept`` as Outbox.accept_async takes it, joined with the calls of the same group made meanwhile."""

    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox
        self._groups: dict[_Group, _InFlight] = {}
        self._calls: set[asyncio.Task[Stored]] = set()

    async def accept(self, owed: Owed, *, workspace: str = "", replicas: int = 0, cap: int = 0,
                     guard: Guard | None = None, announcing: Collection[str] = ()) -> Stored:
        group = _Group(workspace, replicas, cap, guard, frozenset(announcing), any(ids for _, ids in owed))
        in_flight = self._groups.get(group)
        if in_flight is not None:
            answer: asyncio.Future[Stored] = asyncio.get_running_loop().create_future()
            in_flight.waiting.append(_Waiting(owed, answer))
            return await answer
        self._groups[group] = _InFlight()
        try:
            return await self._call(group, owed)
        finally:
            self._returned(group)

    def _call(self, group: _Group, owed: Owed) -> Coroutine[Any, Any, Stored]:
        return self.outbox.accept_async(owed, workspace=group.workspace, replicas=group.replicas, cap=group.cap,
                                        guard=group.guard, announcing=group.announcing)

    def _returned(self, group: _Group) -> None:
        """A call of ``group`` returned: send the requests that waited, all of them now, in calls of up to
        GROUP_TRACES traces; forget the group once none is in flight."""
        in_flight = self._groups[group]
        in_flight.calls -= 1
        waiting, in_flight.waiting = in_flight.waiting, []
        while waiting:
            taken, traces = 1, len(waiting[0].owed)
            while taken < len(waiting) and traces + len(waiting[taken].owed) <= GROUP_TRACES:
                traces += len(waiting[taken].owed)
                taken += 1
            self._send(group, waiting[:taken])
            waiting = waiting[taken:]
        if in_flight.calls == 0:
            del self._groups[group]

    def _send(self, group: _Group, joined: list[_Waiting]) -> None:
        self._groups[group].calls += 1
        call = asyncio.get_running_loop().create_task(
            self._call(group, [trace for request in joined for trace in request.owed]))
        self._calls.add(call)
        call.add_done_callback(lambda done: self._answer(group, joined, done))

    def _answer(self, group: _Group, joined: list[_Waiting], done: asyncio.Task[Stored]) -> None:
        """Tell each request of a joined call its part of the outcome (however the call ended: a request is never
        left waiting)."""
        self._calls.discard(done)
        try:
            if done.cancelled():  # the process is stopping: whether the traces were stored is not known
                error: BaseException | None = ConnectionError("the accept was cancelled")
            else:
                error = done.exception()
            if isinstance(error, NotReplicated):
                for request, part in zip(joined, _split(error.stored, joined), strict=True):
                    _settle(request, error=NotReplicated(part, error.acknowledged, error.required))
            elif error is not None:  # the script's refusal or Redis's failure: every request's own
                for request in joined:
                    _settle(request, error=error)
            else:
                for request, part in zip(joined, _split(done.result(), joined), strict=True):
                    _settle(request, stored=part)
        finally:
            for request in joined:  # only if settling failed half-way
                _settle(request, error=ConnectionError("the accept's outcome was lost"))
            self._returned(group)


def _split(stored: Stored, joined: list[_Waiting]) -> list[Stored]:
    """Each request's part of a joined call's ids, in the order its traces were sent; each is told the
    destinations to announce (the announcer coalesces them)."""
    parts, start = [], 0
    for request in joined:
        parts.append(Stored(stored.trace_ids[start:start + len(request.owed)], stored.announce))
        start += len(request.owed)
    return parts


def _settle(request: _Waiting, *, stored: Stored | None = None, error: BaseException | None = None) -> None:
    if request.answer.done():  # answered, or its request was cancelled meanwhile (its traces stored all the same)
        return
    if error is not None:
        request.answer.set_exception(error)
    else:
        request.answer.set_result(stored)  # type: ignore[arg-type]
