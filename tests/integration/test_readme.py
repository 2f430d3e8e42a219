"""The README's examples run as pasted: every fenced ``sh`` block that calls the api (``$TD``) runs, in the order
the README gives them, in one bash, from a folder holding ``tracedrop-data/tracedrop.env`` as ``tracedrop up
--local-bucket`` writes it, against the suite's stack. What a person would check is checked: every answer is a
success, the destinations are saved, the trace lands in the bucket and at the receiver."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import stack
from tests.conftest import wait_for, wait_for_keys
from tests.receiver import Receiver, start_receiver

README = Path(__file__).parents[2] / "README.md"
BLOCK = re.compile(r"^```sh\n(.*?)^```", re.DOTALL | re.MULTILINE)


def examples() -> list[str]:
    return [block for block in BLOCK.findall(README.read_text()) if "$TD" in block]


def documents(text: str) -> list[Any]:
    """The JSON documents curl printed one after another (with or without a newline between)."""
    decoder, found, at = json.JSONDecoder(), [], 0
    while (at := len(text) - len(text[at:].lstrip())) < len(text):
        document, at = decoder.raw_decode(text, at)
        found.append(document)
    return found


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = start_receiver()
    yield server
    server.stop()


def test_the_readme_examples_run_as_pasted(running: stack.Api, s3: stack.SeaweedFS, bucket: str,
                                           receiver: Receiver, tmp_path: Path) -> None:
    # Given the folder `tracedrop up --local-bucket` leaves, with this stack's settings
    blocks = examples()
    assert len(blocks) == 5, "the README's api examples: workspace and key, three destinations, a trace"
    (tmp_path / "tracedrop-data").mkdir()
    (tmp_path / "tracedrop-data" / "tracedrop.env").write_text(
        f"TRACEDROP_ADMIN_TOKEN={stack.ADMIN_TOKEN}\nS3_ACCESS_KEY={stack.ADMIN_KEY}\nS3_SECRET_KEY={s3.secret()}\n"
        f"S3_ENDPOINT={s3.endpoint}\nS3_BUCKET={bucket}\n")

    # When every block runs as pasted, each answer on a line of its own
    script = "\n".join(f"{block}\necho" for block in blocks)
    env = {"PATH": "/usr/bin:/bin", "TD": running.url, "RECEIVER": receiver.url}
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120)

    # Then every call succeeded
    assert done.returncode == 0, done.stderr
    answers = documents(done.stdout)
    assert [a for a in answers if "error" in a] == []
    workspace, key, archive, hourly, events, trace = answers
    assert workspace["broadcast_enabled"] is True and key["key"].startswith("td_")
    assert (archive["name"], hourly["name"], events["name"]) == ("archive", "hourly", "events")
    assert trace == {"accepted": 1, "owed": 1, "discarded": {}}

    # And the trace is in the bucket (per trace, under prod/) and at the receiver
    [written] = wait_for_keys(s3, bucket, 1, prefix="prod/")
    assert written.startswith("prod/2025-01-15/gen-1-")
    wait_for(lambda: any(b"gen-1" in r.body for r in receiver.accepted()), what="the trace at the receiver")
