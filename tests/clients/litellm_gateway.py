"""LiteLLM's own ``GenericAPILogger`` posting to tracedrop, as a LiteLLM proxy with ``generic_api`` would.

Run as ``python -m tests.clients.litellm_gateway URL KEY LOG_FORMAT``: two mocked completions and one mocked
failure through ``litellm.acompletion``, then one flush of the logger. LiteLLM never leaves the machine: the model
cost map is the bundled one and ``mock_response`` answers instead of a provider. Prints the logger's queue length
after the flush (0: LiteLLM sent everything and the receiver took it).
"""

from __future__ import annotations

import os

os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
os.environ["LITELLM_LOCAL_ANTHROPIC_BETA_HEADERS"] = "True"
os.environ["LITELLM_MODE"] = "PRODUCTION"

import asyncio
import contextlib
import ipaddress
import socket
import sys
import time

_connect = socket.socket.connect


def _loopback_only(sock: socket.socket, address: object) -> None:
    """LiteLLM may only reach tracedrop on loopback: any other connection fails here, loudly."""
    host = address[0] if isinstance(address, tuple) else None
    if host is not None and not (host == "localhost" or ipaddress.ip_address(host).is_loopback):
        raise OSError(f"refused: the LiteLLM test client connects to loopback only, not {address!r}")
    _connect(sock, address)


socket.socket.connect = _loopback_only  # type: ignore[method-assign,assignment]

import litellm  # noqa: E402
from litellm.integrations.generic_api.generic_api_callback import GenericAPILogger  # noqa: E402
from litellm.litellm_core_utils.logging_worker import GLOBAL_LOGGING_WORKER  # noqa: E402

MESSAGES = [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Say hello."}]


async def main(url: str, key: str, log_format: str) -> int:
    litellm.suppress_debug_info = True
    logger = GenericAPILogger(endpoint=url, headers={"Authorization": f"Bearer {key}"}, log_format=log_format,
                              batch_size=100, flush_interval=3600)
    litellm.callbacks = [logger]
    await litellm.acompletion(model="gpt-4o-mini", messages=MESSAGES, mock_response="hello", user="user-42",
                              metadata={"tags": ["support"], "spend_logs_metadata": {"env": "prod"},
                                        "metadata": {"team": "search"}})
    await litellm.acompletion(model="gpt-4o-mini", messages=MESSAGES, mock_response="hello again", user="user-42",
                              litellm_session_id="sess-2")
    with contextlib.suppress(litellm.InternalServerError):
        await litellm.acompletion(model="gpt-4o-mini", messages=MESSAGES, mock_response=Exception("upstream down"))
    deadline = time.monotonic() + 30
    while len(logger.log_queue) < 3:  # the success events reach the logger from a background task
        if time.monotonic() > deadline:
            raise SystemExit(f"only {len(logger.log_queue)} of 3 events reached the logger")
        await asyncio.sleep(0.01)
        await GLOBAL_LOGGING_WORKER.flush()
    await logger.flush_queue()
    print(len(logger.log_queue))
    litellm.logging_callback_manager._reset_all_callbacks()
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main(*sys.argv[1:4])))
