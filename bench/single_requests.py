"""One trace per request, the way OpenRouter's webhook and LiteLLM's ``single`` mode send: requests/s and api CPU
per request of one `tracedrop api` process with 64 requests in flight from one client, against a bare ASGI app
under the same uvicorn that reads the body and answers 200 (the HTTP server's own ceiling here).

The workspace has one per-trace S3 destination and no worker runs, so this is the accept path alone (a 202 still
means the trace is in Redis). Rounds interleave the bare app and every request kind, so the machine's noise falls
on all alike; each figure is the median round. ``--workers 2`` adds the same single-trace rate for two api
processes.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from typing import Any

import aiohttp
import orjson

from bench.workload import EPOCH_S, Stack, cpu_seconds, trace
from tests import stack

IN_FLIGHT = 64
ROUNDS = 3


async def bare(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The bare app: reads the whole body, answers 200 ``{}``."""
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"{}"})


def otlp_json_span(i: int) -> bytes:
    """One chat span as an OTel SDK's OTLP/JSON exporter sends it (~2.5 KB)."""
    source = trace(i, "s")
    attributes = [("gen_ai.request.model", {"stringValue": source["model"]}),
                  ("gen_ai.operation.name", {"stringValue": "chat"}),
                  ("gen_ai.usage.input_tokens", {"intValue": "900"}),
                  ("gen_ai.usage.output_tokens", {"intValue": "80"}),
                  ("gen_ai.input.messages", {"stringValue": orjson.dumps([
                      {"role": "system", "parts": [{"type": "text", "content": "s" * 2000}]},
                      {"role": "user", "parts": [{"type": "text", "content": f"question {i}"}]}]).decode()}),
                  ("gen_ai.output.messages", {"stringValue": orjson.dumps([
                      {"role": "assistant", "parts": [{"type": "text", "content": "answer " * 20}]}]).decode()})]
    span = {"traceId": f"{i + 1:032x}", "spanId": f"{i + 1:016x}", "name": "chat gpt-4o", "kind": 3,
            "startTimeUnixNano": str(EPOCH_S * 10**9), "endTimeUnixNano": str(EPOCH_S * 10**9 + 1_834_000_000),
            "attributes": [{"key": key, "value": value} for key, value in attributes]}
    return orjson.dumps({"resourceSpans": [{"resource": {"attributes": [
        {"key": "service.name", "value": {"stringValue": "gateway"}}]}, "scopeSpans": [{"spans": [span]}]}]})


async def _hammer(url: str, method: str, bodies: list[bytes], headers: dict[str, str], expect: int) -> float:
    """Send every body with IN_FLIGHT requests in flight on kept-alive connections; seconds taken."""
    queue = iter(bodies)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=IN_FLIGHT)) as session:
        async def lane() -> None:
            for data in queue:
                async with session.request(method, url, data=data, headers=headers) as answer:
                    await answer.read()
                    if answer.status != expect:
                        raise RuntimeError(f"{url} answered {answer.status}: {(await answer.read())[:200]!r}")

        started = time.perf_counter()
        await asyncio.gather(*(lane() for _ in range(IN_FLIGHT)))
        return time.perf_counter() - started


def hammer(url: str, bodies: list[bytes], *, method: str = "POST", headers: dict[str, str] | None = None,
           expect: int = 200, server: stack.Service | None = None) -> dict[str, float]:
    """Requests/s, and the server's CPU per request (ms) when it is given."""
    before = cpu_seconds(server) if server else 0.0
    seconds = asyncio.run(_hammer(url, method, bodies, headers or {}, expect))
    figures = {"per_s": len(bodies) / seconds}
    if server:
        figures["cpu_ms"] = (cpu_seconds(server) - before) / len(bodies) * 1e3
    return figures


def bare_server(bench: Stack) -> stack.Service:
    port = stack.free_port()
    service = stack.Service("bare", [sys.executable, "-m", "uvicorn", "bench.single_requests:bare", "--port",
                                     str(port), "--log-level", "warning", "--no-access-log"],
                            bench.workdir / "bare.log")
    service.start()
    stack.wait_until(lambda: _ok(f"http://127.0.0.1:{port}/"), timeout=30, what="bare app", proc=service.proc)
    service.args.append(f"http://127.0.0.1:{port}/")  # its URL, for the rounds
    return service


def _ok(url: str) -> bool:
    import httpx

    return httpx.post(url, content=b"x", timeout=1).status_code == 200


def rates(bench: Stack, *, count: int) -> dict[str, Any]:
    """The median of ROUNDS interleaved rounds of each request kind, and its ratio to the bare app."""
    bench.destination("single")
    bare_app = bare_server(bench)
    ingest = f"{bench.api.url}/v1/traces"
    key = {"Authorization": f"Bearer {bench.key}"}
    kinds: dict[str, Any] = {
        "bare": lambda r: hammer(bare_app.args[-1], [otlp_json_span(i) for i in range(count)], server=bare_app),
        "otlp_json": lambda r: hammer(ingest, [otlp_json_span(r * count + i) for i in range(count)],
                                      headers={**key, "Content-Type": "application/json"}, server=bench.api),
        "native": lambda r: hammer(ingest, [orjson.dumps(trace(r * count + i, "n")) for i in range(count)],
                                   headers={**key, "Content-Type": "application/json"}, expect=202,
                                   server=bench.api),
        "test_connection": lambda r: hammer(ingest, [b"{}"] * count, expect=200, server=bench.api,
                                            headers={**key, "Content-Type": "application/json",
                                                     "X-Test-Connection": "true"}),
        "healthz": lambda r: hammer(f"{bench.api.url}/healthz", [b""] * count, method="GET", server=bench.api),
    }
    try:
        rounds: dict[str, list[dict[str, float]]] = {name: [] for name in kinds}
        for round_ in range(ROUNDS):
            for name, run in kinds.items():
                rounds[name].append(run(round_))
        figures: dict[str, Any] = {}
        for name, measured in rounds.items():
            figures[name] = {"per_s": statistics.median(m["per_s"] for m in measured),
                             "cpu_ms": statistics.median(m["cpu_ms"] for m in measured),
                             "rounds": [round(m["per_s"]) for m in measured]}
        for name in kinds:
            figures[name]["ratio_to_bare"] = figures[name]["per_s"] / figures["bare"]["per_s"]
        figures["requests"] = count
        return figures
    finally:
        bare_app.stop()


def describe(figures: dict[str, Any]) -> str:
    return "; ".join(f"{name} {f['per_s']:.0f} req/s, {f['cpu_ms']:.2f} ms CPU/request ({f['ratio_to_bare']:.2f}x "
                     "bare)" for name, f in figures.items() if isinstance(f, dict))


def main() -> None:
    """``python -m bench.single_requests``: this phase alone, on a stack of its own."""
    bench = Stack.start(beat=False)
    try:
        figures = rates(bench, count=int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
        print(describe(figures))
        print(orjson.dumps(figures).decode())
    finally:
        bench.stop()


if __name__ == "__main__":
    main()
