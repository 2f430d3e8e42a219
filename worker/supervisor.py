"""Child processes that start, live and stop together (``tracedrop up``): each in a process group of its own, its
output in a log file; one that dies is started again after a backoff that grows with its quick deaths, and every
such event is told; on stop, every child gets SIGTERM, then its whole group SIGKILL after a grace."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

GRACE = 10.0
"""Seconds a child has from SIGTERM to exit before its process group is killed."""
BACKOFF = (1.0, 2.0, 5.0, 10.0, 30.0)
"""Seconds before a dead child starts again, by how many times in a row it died young."""
SETTLED = 60.0
"""Seconds a child must live for its next death to count as the first again."""

Say = Callable[[str], None]


@dataclass
class Child:
    """One supervised program: ``ready`` tells when a fresh start can take work (checked once per start)."""

    name: str
    args: list[str]
    log: Path
    env: dict[str, str]
    ready: Callable[[Child], bool] = lambda child: True
    proc: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    deaths: int = 0
    restart_at: float | None = None

    def start(self) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(self.args, stdout=out, stderr=subprocess.STDOUT, env=self.env,
                                         stdin=subprocess.DEVNULL, start_new_session=True,
                                         preexec_fn=_die_with_parent)
        self.started_at = time.monotonic()
        self.restart_at = None

    @property
    def pid(self) -> int:
        return self.proc.pid if self.proc is not None else 0

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def terminate(self) -> None:
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGTERM)

    def kill_group(self) -> None:
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)


class NotReady(RuntimeError):
    """A child exited or did not become ready in time at its first start."""


@dataclass
class Supervisor:
    say: Say
    children: list[Child] = field(default_factory=list)
    stopping: bool = False

    def start(self, child: Child, *, timeout: float = 90.0) -> None:
        """Start ``child`` and wait until it is ready; NotReady (with the end of its log) when it is not."""
        self.children.append(child)
        child.start()
        deadline = time.monotonic() + timeout
        while not _ready(child):
            if not child.alive():
                raise NotReady(f"{child.name} exited with {child.proc.returncode if child.proc else '?'}: "
                               f"{_tail(child.log)}")
            if time.monotonic() > deadline:
                raise NotReady(f"{child.name} was not ready after {timeout:.0f}s: {_tail(child.log)}")
            time.sleep(0.1)
        self.say(f"{child.name} started (pid {child.pid}), log {child.log}")

    def watch(self) -> None:
        """Until stop(): start again every child that died, after its backoff."""
        while not self.stopping:
            now = time.monotonic()
            for child in self.children:
                if self.stopping:
                    break
                if child.alive():
                    continue
                if child.restart_at is None:
                    lived = now - child.started_at
                    child.deaths = 1 if lived >= SETTLED else child.deaths + 1
                    delay = BACKOFF[min(child.deaths, len(BACKOFF)) - 1]
                    child.kill_group()  # what it left behind (a worker's pool) goes with it
                    code = child.proc.returncode if child.proc else "?"
                    self.say(f"{child.name} (pid {child.pid}) exited with {code} after {lived:.0f}s; "
                             f"starting it again in {delay:.0f}s (log {child.log})")
                    child.restart_at = now + delay
                elif now >= child.restart_at:
                    child.start()
                    self.say(f"{child.name} started again (pid {child.pid})")
            time.sleep(0.2)

    def stop(self) -> None:
        """SIGTERM to every child, last started first; then SIGKILL to the groups of those still running."""
        self.stopping = True
        for child in reversed(self.children):
            child.terminate()
            deadline = time.monotonic() + GRACE
            while child.alive() and time.monotonic() < deadline:
                time.sleep(0.05)
            if child.alive():
                self.say(f"{child.name} (pid {child.pid}) did not stop within {GRACE:.0f}s: killed")
            child.kill_group()


def _die_with_parent() -> None:
    """In the child, before it runs: SIGTERM when the supervisor dies, even by SIGKILL (Linux; elsewhere nothing)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


PR_SET_PDEATHSIG = 1


def _ready(child: Child) -> bool:
    try:
        return child.ready(child)
    except Exception:
        return False


def _tail(log: Path, lines: int = 5) -> str:
    try:
        return " | ".join(log.read_text(errors="replace").strip().splitlines()[-lines:])
    except OSError:
        return "(no log)"
