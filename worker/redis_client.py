"""Where Redis is, and the one place its clients are made: for the api, the workers' runtime, the heartbeat and the
Celery broker alike, so all of them follow a Sentinel failover the same way.

``TRACEDROP_REDIS_URL`` is either a plain ``redis://`` (or ``rediss://``, ``unix://``) URL or a Sentinel set::

    redis+sentinel://[user:password@]host:port,host:port,host:port/<master name>/<db>

The credentials are those of the Redis servers (master and replicas); the sentinels are asked without any. With
Sentinel, every connection asks the sentinels which server is the master before it connects, and drops itself
when that server turns out to be a replica, so a client follows a failover by reconnecting (README: "Redis
Sentinel", docs/redis-sentinel.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from redis import Redis
from redis.asyncio import Redis as AsyncRedis
from redis.asyncio.sentinel import Sentinel as AsyncSentinel
from redis.sentinel import Sentinel

SENTINEL_SCHEME = "redis+sentinel"
_PLAIN_SCHEMES = ("redis", "rediss", "unix")


@dataclass(frozen=True)
class SentinelSet:
    """A Sentinel-monitored master, as ``redis+sentinel://`` names it."""

    sentinels: tuple[tuple[str, int], ...]
    master: str
    db: int = 0
    username: str | None = None
    password: str | None = None


def parse(url: str) -> str | SentinelSet:
    """The URL as it is (plain Redis) or the Sentinel set it names; ValueError saying what is wrong."""
    scheme = url.partition("://")[0].lower() if "://" in url else ""
    if scheme in _PLAIN_SCHEMES:
        return url
    if scheme != SENTINEL_SCHEME:
        raise ValueError(f"must start with redis://, rediss://, unix:// or {SENTINEL_SCHEME}://")
    parts = urlsplit(url)
    credentials, _, hosts = parts.netloc.rpartition("@")
    sentinels = tuple(_host_port(host) for host in hosts.split(","))
    path = [p for p in parts.path.split("/") if p]
    if not path or len(path) > 2:
        raise ValueError(f"{SENTINEL_SCHEME}:// needs /<master name>/<db> after the sentinels, e.g. /mymaster/0")
    if len(path) == 2 and not path[1].isdigit():
        raise ValueError(f"the database after the master name must be a number, not {path[1]!r}")
    user, _, password = credentials.partition(":")
    return SentinelSet(sentinels, master=unquote(path[0]), db=int(path[1]) if len(path) == 2 else 0,
                       username=unquote(user) or None, password=unquote(password) or None)


def _host_port(host: str) -> tuple[str, int]:
    name, _, port = host.rpartition(":")
    if not name or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"sentinel {host!r} must be host:port")
    return name.strip("[]"), int(port)


def connect(url: str, *, socket_timeout: float, socket_connect_timeout: float, **options: Any) -> Redis:
    """A client of the Redis that ``url`` names (of its current master, for a Sentinel set)."""
    target = parse(url)
    timeouts = {"socket_timeout": socket_timeout, "socket_connect_timeout": socket_connect_timeout}
    if isinstance(target, str):
        return Redis.from_url(target, **timeouts, **options)
    sentinel = Sentinel(list(target.sentinels), sentinel_kwargs=dict(timeouts), socket_timeout=socket_timeout,
                        socket_connect_timeout=socket_connect_timeout)
    return sentinel.master_for(target.master, db=target.db, username=target.username, password=target.password,
                               socket_timeout=socket_timeout, socket_connect_timeout=socket_connect_timeout,
                               **options)


def connect_async(url: str, *, socket_timeout: float, socket_connect_timeout: float, **options: Any) -> AsyncRedis:
    """The same as ``connect``, for asyncio (ingest's accept, on the api's event loop)."""
    target = parse(url)
    timeouts = {"socket_timeout": socket_timeout, "socket_connect_timeout": socket_connect_timeout}
    if isinstance(target, str):
        return AsyncRedis.from_url(target, socket_timeout=socket_timeout,  # type: ignore[no-any-return]
                                   socket_connect_timeout=socket_connect_timeout, **options)
    sentinel = AsyncSentinel(list(target.sentinels), sentinel_kwargs=dict(timeouts), socket_timeout=socket_timeout,
                             socket_connect_timeout=socket_connect_timeout)
    return sentinel.master_for(target.master, db=target.db, username=target.username, password=target.password,
                               socket_timeout=socket_timeout, socket_connect_timeout=socket_connect_timeout,
                               **options)


def broker(url: str) -> tuple[str, dict[str, Any]]:
    """Celery's broker URL for ``url`` and the transport options it needs beyond tracedrop's own (kombu's
    ``sentinel://`` transport, one URL per sentinel, for a Sentinel set)."""
    target = parse(url)
    if isinstance(target, str):
        return target, {}
    credentials = urlsplit(url).netloc.rpartition("@")[0]
    prefix = f"{credentials}@" if credentials else ""
    hosts = ";".join(f"sentinel://{prefix}{host}:{port}/{target.db}" for host, port in target.sentinels)
    return hosts, {"master_name": target.master}
