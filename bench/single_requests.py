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

from bench.workload import EPOCH_S, Stack, cpu_seconds, percentile, rss_mb, trace
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


async def _hammer(url: str, method: str, bodies: list[bytes], headers: dict[str, str], expect: int,
                  in_flight: int = IN_FLIGHT, answers: list[tuple[int, float]] | None = None) -> float:
    """Send every body with ``in_flight`` requests in flight on kept-alive connections; seconds taken. With
    ``answers``, every status and latency is kept there and any status is taken."""
    queue = iter(bodies)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=in_flight)) as session:
        async def lane() -> None:
            for data in queue:
                began = time.perf_counter()
                async with session.request(method, url, data=data, headers=headers) as answer:
                    await answer.read()
                    if answers is not None:
                        answers.append((answer.status, time.perf_counter() - began))
                    elif answer.status != expect:
                        raise RuntimeError(f"{url} answered {answer.status}: {(await answer.read())[:200]!r}")

        started = time.perf_counter()
        await asyncio.gather(*(lane() for _ in range(in_flight)))
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


def api_processes(bench: Stack, workers: int) -> stack.Api:
    """Another `tracedrop api` on the same Redis, with ``workers`` uvicorn processes."""
    port = stack.free_port()
    server = stack.Api(f"api-{workers}", [*stack.api_args(port), "--workers", str(workers)],
                       bench.workdir / f"api-{workers}-{port}.log", env=bench.env, port=port)
    server.start()
    return server


def scaling(bench: Stack, *, count: int) -> dict[str, Any]:
    """Single-trace OTLP/JSON requests/s of one api process and of `--workers 2`, interleaved rounds, medians."""
    two = api_processes(bench, 2)
    key = {"Authorization": f"Bearer {bench.key}", "Content-Type": "application/json"}
    try:
        rounds: dict[str, list[float]] = {"1": [], "2": []}
        for round_ in range(ROUNDS):
            for name, server in (("1", bench.api), ("2", two)):
                bodies = [otlp_json_span(10**6 * (round_ + 1) + int(name) * 10**5 + i) for i in range(count)]
                rounds[name].append(hammer(f"{server.url}/v1/traces", bodies, headers=key)["per_s"])
        one, both = statistics.median(rounds["1"]), statistics.median(rounds["2"])
        return {"workers_1_per_s": one, "workers_2_per_s": both, "ratio": both / one, "rounds": rounds}
    finally:
        two.stop()


OVERLOAD_IN_FLIGHT = 400
"""Requests in flight from the overloading client: past TRACEDROP_MAX_INGEST_IN_FLIGHT, under the connection cap."""


def overload(bench: Stack, *, count: int) -> dict[str, Any]:
    """One api process offered OVERLOAD_IN_FLIGHT requests at once: how many are taken (202) and refused (503), the
    p99 of each, and the api's memory before and after."""
    key = {"Authorization": f"Bearer {bench.key}", "Content-Type": "application/json"}
    bodies = [otlp_json_span(9 * 10**7 + i) for i in range(count)]
    before = rss_mb(bench.api)
    answers: list[tuple[int, float]] = []
    seconds = asyncio.run(_hammer(f"{bench.api.url}/v1/traces", "POST", bodies, key, 200,
                                  in_flight=OVERLOAD_IN_FLIGHT, answers=answers))
    taken = [latency for status, latency in answers if status == 200]
    refused = [latency for status, latency in answers if status == 503]
    if len(taken) + len(refused) != len(answers):
        raise RuntimeError(f"overload: answers other than 200 and 503: {sorted({s for s, _ in answers})}")
    return {"in_flight": OVERLOAD_IN_FLIGHT, "requests": count, "taken": len(taken), "refused": len(refused),
            "taken_per_s": len(taken) / seconds, "taken_p99_ms": percentile(taken, 99) * 1e3,
            "refused_p99_ms": percentile(refused, 99) * 1e3, "rss_before_mb": before, "rss_after_mb": rss_mb(bench.api)}


def measure(bench: Stack, *, count: int) -> dict[str, Any]:
    """Every figure of this phase: rates beside the bare app, one api process against two, and overload; against
    a workspace with one per-trace S3 destination, deleted after (with what it was owed) so no later phase drains
    it."""
    destination = bench.destination("single")
    try:
        return {"rates": rates(bench, count=count), "scaling": scaling(bench, count=count),
                "overload": overload(bench, count=count * 2)}
    finally:
        bench.delete_destination(destination)


def describe(figures: dict[str, Any]) -> str:
    rates_, two, over = figures["rates"], figures["scaling"], figures["overload"]
    return ("; ".join(f"{name} {f['per_s']:.0f} req/s, {f['cpu_ms']:.2f} ms CPU/request ({f['ratio_to_bare']:.2f}x "
                      "bare)" for name, f in rates_.items() if isinstance(f, dict))
            + f"; --workers 2: {two['workers_2_per_s']:.0f} req/s ({two['ratio']:.2f}x one process)"
            + f"; {over['in_flight']} in flight: {over['taken']} taken ({over['taken_per_s']:.0f}/s, p99 "
              f"{over['taken_p99_ms']:.0f} ms), {over['refused']} refused 503 (p99 {over['refused_p99_ms']:.0f} ms), "
              f"api RSS {over['rss_before_mb']:.0f} -> {over['rss_after_mb']:.0f} MB")


def main() -> None:
    """``python -m bench.single_requests [requests]``: this phase alone, on a stack of its own."""
    bench = Stack.start(beat=False)
    try:
        figures = measure(bench, count=int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
        print(describe(figures))
        print(orjson.dumps(figures).decode())
    finally:
        bench.stop()


if __name__ == "__main__":
    main()
