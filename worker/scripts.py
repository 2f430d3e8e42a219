"""The Lua scripts: one ``.lua`` file each in ``worker/lua/``, loaded and registered here and nowhere else.

A script's file opens with its contract, which this module enforces on every call::

    -- KEYS: stats owed lanes        names of the keys, in order; a last name ending in ... takes a list
    -- ARGV: token limit wanted...   names of the arguments, likewise
    -- USES: now trace state         libraries (worker/lua/lib/<name>.lua) put in front of the script's body
    -- FLAGS: allow-oom              it runs even when Redis is at maxmemory (it frees memory, or barely uses any)

Callers pass keys and arguments by name (``script(stats=..., owed=..., token=...)``); a missing or unknown name is
a TypeError before anything reaches Redis. Every key known before the call is in KEYS; only keys derived from what a
script reads (a trace's record, from the ids in an outbox) are built inside, from ``BODY_PREFIX``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from redis import Redis
from redis.asyncio import Redis as AsyncRedis
from redis.asyncio.client import Pipeline as AsyncPipeline
from redis.client import Pipeline

from worker import keys

FOLDER = Path(__file__).parent / "lua"
HEADER_BYTES = 12
"""A trace's record starts with how many destinations still owe it (4 bytes) and when it was accepted (ms, 8)."""
CONSTANTS = {"BODY_PREFIX": keys.body(""), "HEADER_BYTES": str(HEADER_BYTES)}
"""Values the Lua reads as ``{{NAME}}``, so each has one source in Python."""
_CONTRACT = re.compile(r"^-- (KEYS|ARGV|USES|FLAGS):(.*)$", re.MULTILINE)
_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")


@dataclass(frozen=True)
class Contract:
    keys: tuple[str, ...]
    args: tuple[str, ...]
    uses: tuple[str, ...]
    flags: tuple[str, ...]


def contract(text: str) -> Contract:
    found = {name: tuple(value.split()) for name, value in _CONTRACT.findall(text)}
    return Contract(keys=found.get("KEYS", ()), args=found.get("ARGV", ()), uses=found.get("USES", ()),
                    flags=found.get("FLAGS", ()))


@cache
def source(name: str) -> str:
    """The script as Redis runs it: its flags, its libraries, its body, with the constants filled in."""
    text = (FOLDER / f"{name}.lua").read_text()
    terms = contract(text)
    parts = [f"#!lua flags={','.join(terms.flags)}\n"] if terms.flags else []
    parts += [(FOLDER / "lib" / f"{lib}.lua").read_text() for lib in terms.uses]
    parts.append(text)
    return _PLACEHOLDER.sub(lambda m: CONSTANTS[m.group(1)], "".join(parts))


def _flatten(names: tuple[str, ...], given: dict[str, Any]) -> list[Any]:
    flat: list[Any] = []
    for name in names:
        if name.endswith("..."):
            flat.extend(given.pop(name[:-3]))
        else:
            flat.append(given.pop(name))
    return flat


class Script:
    """One registered script, called with its keys and arguments by name: ``script(...)`` on the Redis client it was
    registered on (or a pipeline of it), ``await script.run_async(...)`` on the asyncio one."""

    def __init__(self, redis: Redis, name: str, aredis: AsyncRedis | None = None) -> None:
        self.name = name
        self.terms = contract((FOLDER / f"{name}.lua").read_text())
        self._script = redis.register_script(source(name))
        self._async = aredis.register_script(source(name)) if aredis is not None else None

    def __call__(self, *, client: Redis | Pipeline | None = None, **given: Any) -> Any:
        script_keys, args = self._arguments(given)
        return self._script(keys=script_keys, args=args, client=client)

    async def run_async(self, *, client: AsyncPipeline | None = None, **given: Any) -> Any:
        if self._async is None:
            raise TypeError(f"{self.name}.lua is not registered on an asyncio client")
        script_keys, args = self._arguments(given)
        return await self._async(keys=script_keys, args=args, client=client)

    def _arguments(self, given: dict[str, Any]) -> tuple[list[Any], list[Any]]:
        expected = {n.removesuffix("...") for n in self.terms.keys + self.terms.args}
        if set(given) != expected:
            missing, unknown = sorted(expected - set(given)), sorted(set(given) - expected)
            raise TypeError(f"{self.name}.lua: missing {missing}, unknown {unknown}")
        script_keys = _flatten(self.terms.keys, given)
        return script_keys, _flatten(self.terms.args, given)


class Scripts:
    """The scripts one component uses, registered on its Redis client (and asyncio client, when it has one):
    ``Scripts(redis, "claim", ...).claim``."""

    def __init__(self, redis: Redis, *names: str, aredis: AsyncRedis | None = None) -> None:
        for name in names:
            setattr(self, name, Script(redis, name, aredis))

    def __getattr__(self, name: str) -> Script:
        raise AttributeError(f"script {name!r} is not registered here")
