"""How a trace's body is kept in Redis: its JSON compressed with zstd (level 3) and, once the deployment has one,
with the compression dictionary it trained from its own traces.

Until a dictionary is current (``td:zd`` holds its id), the bodies ingest stores (those owed to a destination) are
also kept as samples, as stored, by the accept script: the newest ``SAMPLES`` in ``td:zds``; once there are that
many, the heartbeat trains a dictionary from them, stores it in ``td:zd:{id}`` for good, makes it current and drops
the samples. Every frame names its dictionary by id (in the zstd frame header), so any process reads any body: a
frame without a dictionary (stored before one existed) and a plain body (stored before compression; JSON always
starts with ``{``) read as they always did. Deleting ``td:zd`` makes the deployment train a new one from its newest
traces; a ``td:zd:{id}`` is never deleted, since bodies stored with it may still be owed.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import cast

import zstandard
from redis import Redis

from worker import keys
from worker.errors import MissingDictionary

LEVEL = 3
SAMPLES = 1000
"""How many accepted bodies a dictionary is trained from."""
DICTIONARY_BYTES = 64 * 1024
"""The dictionary's size: with 1,000 chat traces of about 3 KB a larger one gains nothing (docs/performance.md)."""
REFRESH_S = 10.0
"""How long a process packs with the dictionary it knows before looking for a newer one in Redis."""
_FRAME = b"\x28\xb5\x2f\xfd"
"""The zstd frame magic number."""

log = logging.getLogger("tracedrop.worker")
_local = threading.local()
Dictionary = zstandard.ZstdCompressionDict
_dictionaries: dict[int, Dictionary] = {}
"""Dictionaries read from Redis, by id: a stored dictionary never changes."""


def _codec(dictionary: Dictionary | None) -> tuple[zstandard.ZstdCompressor, zstandard.ZstdDecompressor]:
    codecs = getattr(_local, "codecs", None)
    if codecs is None:  # zstandard's (de)compressors are not to be shared between threads
        codecs = _local.codecs = {}
    dict_id = dictionary.dict_id() if dictionary is not None else 0
    codec = codecs.get(dict_id)
    if codec is None:
        codec = codecs[dict_id] = (zstandard.ZstdCompressor(level=LEVEL, dict_data=dictionary),
                                   zstandard.ZstdDecompressor(dict_data=dictionary))
    return codec  # type: ignore[no-any-return]


def pack(data: bytes, dictionary: Dictionary | None = None) -> bytes:
    """JSON bytes as stored: a zstd frame, naming ``dictionary`` when compressed with one."""
    return _codec(dictionary)[0].compress(data)


def dictionary_id(stored: bytes) -> int | None:
    """The id of the dictionary a stored body needs: 0 for none, None for a body stored plain."""
    return zstandard.get_frame_parameters(stored).dict_id if stored.startswith(_FRAME) else None


def unpack(stored: bytes, dictionary: Dictionary | None = None) -> bytes:
    """Stored bytes as JSON: decompressed (with the dictionary it names), or as they are when stored plain."""
    return _codec(dictionary)[1].decompress(stored) if stored.startswith(_FRAME) else stored


class Bodies:
    """Packs JSON bytes for Redis and unpacks them again; the outbox is the only user."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._current: tuple[float, Dictionary | None] = (float("-inf"), None)

    def current(self) -> Dictionary | None:
        """The deployment's current dictionary (as known for up to ``REFRESH_S``), or None before it has one."""
        if time.monotonic() - self._current[0] >= REFRESH_S:
            self.look()
        return self._current[1]

    def look_due(self) -> bool:
        """For an asyncio caller, which packs with ``pack_as_known``: True when a look for a newer dictionary is
        due, and the next is then REFRESH_S away; it calls ``look()`` off its event loop."""
        if time.monotonic() - self._current[0] < REFRESH_S:
            return False
        self._current = (time.monotonic(), self._current[1])
        return True

    def look(self) -> None:
        """Read which dictionary is current now (and it, the first time)."""
        found = self.redis.get(keys.DICTIONARY)
        self._current = (time.monotonic(), self.dictionary(int(found)) if found else None)

    def dictionary(self, dict_id: int) -> Dictionary:
        found = _dictionaries.get(dict_id)
        if found is None:
            data = self.redis.get(keys.dictionary(dict_id))
            if data is None:
                raise MissingDictionary(f"dictionary {dict_id} ({keys.dictionary(dict_id)}) is not in Redis")
            found = Dictionary(cast(bytes, data))
            found.precompute_compress(level=LEVEL)  # digested once, then shared read-only by every thread
            _dictionaries[dict_id] = found
        return found

    def pack(self, data: bytes) -> bytes:
        """JSON bytes as stored, with the current dictionary if there is one."""
        return pack(data, self.current())

    def pack_as_known(self, data: bytes) -> bytes:
        """``pack`` with the dictionary this process knows, without looking for a newer one (no I/O)."""
        return pack(data, self._current[1])

    def unpack(self, stored: bytes) -> bytes:
        """Stored bytes as JSON, whatever dictionary (or none) they were stored with."""
        dict_id = dictionary_id(stored)
        return unpack(stored, self.dictionary(dict_id) if dict_id else None)

    def samples_wanted(self) -> int:
        """How many of the newest accepted bodies to keep as samples: ``SAMPLES`` while the deployment has no
        dictionary (as this process knows), else none. The accept script keeps them, as stored."""
        return SAMPLES if self._current[1] is None else 0

    def train(self) -> int | None:
        """With ``SAMPLES`` samples kept and no dictionary current: train one, store it, make it current; its id."""
        if self.redis.exists(keys.DICTIONARY) or self.redis.llen(keys.DICTIONARY_SAMPLES) < SAMPLES:
            return None
        kept = cast(list[bytes], self.redis.lrange(keys.DICTIONARY_SAMPLES, 0, SAMPLES - 1))
        samples: list[bytes | bytearray | memoryview] = [unpack(sample) for sample in kept]  # stored without one
        try:
            dictionary = zstandard.train_dictionary(DICTIONARY_BYTES, samples, level=LEVEL)
        except zstandard.ZstdError as exc:  # too few bytes to learn from: sample again
            log.warning("compression dictionary not trained", extra={"error": str(exc)})
            self.redis.delete(keys.DICTIONARY_SAMPLES)
            return None
        dict_id = dictionary.dict_id()
        with self.redis.pipeline() as pipe:  # stored before it is current, in one transaction
            pipe.set(keys.dictionary(dict_id), dictionary.as_bytes())
            pipe.set(keys.DICTIONARY, dict_id)
            pipe.delete(keys.DICTIONARY_SAMPLES)
            pipe.execute()
        return dict_id
