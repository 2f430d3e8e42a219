"""The Lua scripts' contracts (worker/scripts.py): every script declares its keys and arguments, builds no key it
could have been given, and is called by those names only."""

from __future__ import annotations

import re

import pytest
from redis import Redis

from worker import keys, scripts

SCRIPTS = sorted(path.stem for path in scripts.FOLDER.glob("*.lua"))
LIBRARIES = {path.stem for path in (scripts.FOLDER / "lib").glob("*.lua")}


def test_every_script_declares_its_contract_and_uses_known_libraries() -> None:
    assert len(SCRIPTS) >= 20
    for name in SCRIPTS:
        terms = scripts.contract((scripts.FOLDER / f"{name}.lua").read_text())
        assert terms.keys or terms.args, name
        assert set(terms.uses) <= LIBRARIES, name
        assert set(terms.flags) <= {"allow-oom"}, name


def test_no_script_builds_a_key_of_its_own() -> None:
    # Only a trace's record key is built inside (from ids read in Redis), and from keys.py's prefix, not a literal
    for path in [*scripts.FOLDER.glob("*.lua"), *(scripts.FOLDER / "lib").glob("*.lua")]:
        code = "\n".join(line.split("--")[0] for line in path.read_text().splitlines())
        assert "td:" not in code, path.name
    assert "'" + keys.body("") + "' .. tid" in scripts.source("claim")


def test_every_key_a_script_touches_comes_from_keys_or_is_a_record() -> None:
    # redis.call's key argument is KEYS[...], a name bound from KEYS, or body_key(...)
    for name in SCRIPTS:
        text = (scripts.FOLDER / f"{name}.lua").read_text()
        assert not re.search(r"redis\.call\('\w+', '", text), name


def test_a_call_with_a_missing_or_unknown_name_is_refused_before_redis() -> None:
    release = scripts.Script(Redis(port=1), "release")  # nothing listens on port 1: nothing may be sent
    with pytest.raises(TypeError, match=r"missing \['token'\], unknown \['lane'\]"):
        release(lanes=keys.lanes("d"), lane="x")


def test_a_script_is_its_flags_then_its_libraries_then_its_body() -> None:
    source = scripts.source("delivered")
    assert source.startswith("#!lua flags=allow-oom\n")
    assert source.index("local function words") < source.index("local function settle") < source.index(
        "state_written(KEYS[4]")
    assert "{{" not in source
