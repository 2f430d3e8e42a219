"""Whether the system is moving: a worker is alive while the heartbeat's lease is held (every live worker contends
for it and the holder renews it every beat, worker/maintenance.py), and how many traces are owed meanwhile. What
``/readyz`` and the settings page's banner read."""

from __future__ import annotations

from dataclasses import dataclass

from redis import Redis

from worker import keys


@dataclass(frozen=True)
class Liveness:
    worker_alive: bool
    owed: int
    """Traces owed, summed over destinations (a trace owed to two counts twice)."""

    @property
    def stalled(self) -> bool:
        """Traces are owed and no worker is alive to deliver them."""
        return self.owed > 0 and not self.worker_alive


def read(redis: Redis) -> Liveness:
    with redis.pipeline(transaction=False) as pipe:
        pipe.exists(keys.HEARTBEAT)
        pipe.smembers(keys.DESTINATIONS)
        alive, destinations = pipe.execute()
    with redis.pipeline(transaction=False) as pipe:
        for destination_id in destinations:
            pipe.zcard(keys.owed(destination_id.decode()))
        owed = sum(pipe.execute()) if destinations else 0
    return Liveness(worker_alive=bool(alive), owed=owed)
