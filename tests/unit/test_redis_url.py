"""What ``TRACEDROP_REDIS_URL`` may name: a Redis URL, or a Sentinel set (README: "Redis Sentinel")."""

from __future__ import annotations

import pytest

from worker.redis_client import SentinelSet, broker, parse


def test_a_plain_url_is_used_as_it_is() -> None:
    assert parse("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"
    assert broker("rediss://:pw@redis.internal:6380/2") == ("rediss://:pw@redis.internal:6380/2", {})


def test_a_sentinel_set_names_its_sentinels_master_and_database() -> None:
    assert parse("redis+sentinel://s1:26379,s2:26379,[::1]:26380/traces/3") == SentinelSet(
        (("s1", 26379), ("s2", 26379), ("::1", 26380)), master="traces", db=3)
    assert parse("redis+sentinel://s1:26379/traces") == SentinelSet((("s1", 26379),), master="traces", db=0)


def test_credentials_before_the_first_sentinel_are_the_redis_servers() -> None:
    found = parse("redis+sentinel://tracedrop:p%40ss@s1:26379,s2:26379/traces/0")
    assert isinstance(found, SentinelSet)
    assert (found.username, found.password) == ("tracedrop", "p@ss")
    assert broker("redis+sentinel://:pw@s1:26379,s2:26380/traces/1") == (
        "sentinel://:pw@s1:26379/1;sentinel://:pw@s2:26380/1", {"master_name": "traces"})


@pytest.mark.parametrize(("url", "reason"), [
    ("http://s1:26379", "must start with redis://"),
    ("redis+sentinel://s1:26379", "needs /<master name>/<db>"),
    ("redis+sentinel://s1:26379/traces/zero", "must be a number"),
    ("redis+sentinel://s1/traces/0", "'s1' must be host:port"),
    ("redis+sentinel://s1:26379,:1/traces/0", "':1' must be host:port"),
    ("redis+sentinel://s1:99999/traces/0", "must be host:port"),
])
def test_a_url_that_names_nothing_usable_is_refused_with_the_reason(url: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason.replace("(", r"\(")):
        parse(url)


def test_the_process_refuses_to_start_naming_the_variable(monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    from worker import settings

    monkeypatch.setenv("TRACEDROP_ADMIN_TOKEN", "t" * 32)
    monkeypatch.setenv("TRACEDROP_SECRET_KEY", "0123456789abcdefghijklmnopqrstuvwxyz")
    monkeypatch.setenv("TRACEDROP_REDIS_URL", "redis+sentinel://s1:26379")
    settings.get_settings.cache_clear()
    try:
        with pytest.raises(SystemExit) as exit_:
            settings.load_settings_or_exit()
    finally:
        settings.get_settings.cache_clear()
    assert exit_.value.code == 2
    error = capsys.readouterr().err
    assert "TRACEDROP_REDIS_URL" in error and "needs /<master name>/<db>" in error
