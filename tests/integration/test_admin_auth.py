"""Guessing the admin token, as an attacker on loopback would: the bearer API and the settings page's sign-in share
one limit per client, which forged proxy headers do not get around and attempts in flight together do not slip
under; a token too short to be safe stops the api at start; a session dies with the token it was opened with;
/metrics takes a token of its own."""

from __future__ import annotations

import asyncio
import re
import subprocess
import time
from collections.abc import Callable

import httpx
import pytest
import redis

from tests import stack
from tests.conftest import OWN_DATABASE, make_trace

MAX_FAILURES = 5
WINDOW_SECONDS = 60
"""The documented limit (docs/admin-api.md; the constants are api/lockout.py's)."""
TOKEN = stack.ADMIN_TOKEN
OwnApi = Callable[..., stack.Api]


def guess(http: httpx.Client, token: str, **headers: str) -> httpx.Response:
    return http.get("/v1/workspaces", headers={"Authorization": f"Bearer {token}", **headers})


def sign_in_form(http: httpx.Client) -> tuple[str, str]:
    """The sign-in form's CSRF token and the cookie that goes with it, as a browser holds them."""
    form = http.get("/admin/sign-in")
    found = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert found is not None, form.text
    return found.group(1), form.cookies["td_sign_in"]


def sign_in(http: httpx.Client, token: str, form: tuple[str, str], **headers: str) -> httpx.Response:
    csrf, cookie = form
    return http.post("/admin/sign-in", data={"token": token, "csrf": csrf}, follow_redirects=False,
                     headers={"Cookie": f"td_sign_in={cookie}", **headers})


def assert_locked(response: httpx.Response) -> None:
    assert response.status_code == 429, response.text
    assert int(response.headers["retry-after"]) == WINDOW_SECONDS


def test_guessing_the_bearer_token_is_stopped_after_five_failures_whatever_address_it_claims(
    own_api: OwnApi
) -> None:
    api = own_api()
    with httpx.Client(base_url=api.url, timeout=30) as http:
        # Given five wrong guesses, each claiming another client in X-Forwarded-For
        answers = [guess(http, f"guess-{i}", **{"X-Forwarded-For": f"203.0.113.{i}"}) for i in range(MAX_FAILURES)]
        assert [a.status_code for a in answers] == [401] * MAX_FAILURES

        # When it guesses on, as yet another client, or even sends the right token
        refused = [guess(http, "guess-next", **{"X-Forwarded-For": "198.51.100.9"}), guess(http, TOKEN)]

        # Then nothing is compared any more: 429 with Retry-After, and the sign-in form is closed to it too
        for answer in refused:
            assert_locked(answer)
            assert answer.json()["error"]["code"] == "too_many_failures"
        assert_locked(sign_in(http, TOKEN, sign_in_form(http)))


def test_the_block_lasts_while_attempts_go_on(own_api: OwnApi) -> None:
    api = own_api()
    with httpx.Client(base_url=api.url, timeout=30) as http:
        form = sign_in_form(http)
        for _ in range(MAX_FAILURES):
            assert sign_in(http, "wrong", form).status_code == 401
        assert_locked(sign_in(http, "wrong", form))

        # When the client tries again two seconds later, Then the wait starts over: a whole window from now
        time.sleep(2)
        assert_locked(sign_in(http, TOKEN, form))
        assert_locked(guess(http, TOKEN))


def test_eight_wrong_sign_ins_from_rotating_addresses_are_answered_429_after_the_fifth(own_api: OwnApi) -> None:
    api = own_api()
    with httpx.Client(base_url=api.url, timeout=30) as http:
        form = sign_in_form(http)
        answers = [sign_in(http, "wrong", form, **{"X-Forwarded-For": f"192.0.2.{i}"}) for i in range(8)]
    assert [a.status_code for a in answers] == [401] * MAX_FAILURES + [429] * 3


async def _at_once(base_url: str, send: Callable[[httpx.AsyncClient], object], count: int) -> list[int]:
    async with httpx.AsyncClient(base_url=base_url, timeout=30,
                                 limits=httpx.Limits(max_connections=count)) as http:
        answers = await asyncio.gather(*(send(http) for _ in range(count)))  # type: ignore[arg-type]
    return sorted(answer.status_code for answer in answers)


@pytest.mark.parametrize("how", ["sign-in", "bearer"])
def test_wrong_tokens_sent_at_once_are_each_counted(own_api: OwnApi, redis_server: stack.RedisServer,
                                                     how: str) -> None:
    api = own_api()
    with httpx.Client(base_url=api.url, timeout=30) as http:
        csrf, cookie = sign_in_form(http)

    def send(client: httpx.AsyncClient) -> object:
        if how == "bearer":
            return client.get("/v1/workspaces", headers={"Authorization": "Bearer wrong"})
        return client.post("/admin/sign-in", data={"token": "wrong", "csrf": csrf},
                           headers={"Cookie": f"td_sign_in={cookie}"})

    own = redis.Redis.from_url(f"{redis_server.url.rsplit('/', 1)[0]}/{OWN_DATABASE}")
    for _ in range(6):
        # Given a client that has not failed lately, When it sends 16 wrong tokens at once
        own.flushdb()
        statuses = asyncio.run(_at_once(api.url, send, 16))

        # Then five were compared and refused, and the rest were not compared at all
        assert statuses == [401] * MAX_FAILURES + [429] * (16 - MAX_FAILURES)
    own.close()


def test_right_tokens_sent_at_once_never_hold_each_other_up(own_api: OwnApi) -> None:
    # Given a client one failure short of the limit
    api = own_api()
    with httpx.Client(base_url=api.url, timeout=30) as http:
        for _ in range(MAX_FAILURES - 1):
            assert guess(http, "wrong").status_code == 401

    # When a script sends 16 requests with the right token at once, Then every one is let in
    statuses = asyncio.run(_at_once(api.url, lambda client: client.get(
        "/v1/workspaces", headers={"Authorization": f"Bearer {TOKEN}"}), 16))
    assert statuses == [200] * 16


def test_proxy_headers_count_only_from_the_proxies_the_operator_lists(own_api: OwnApi) -> None:
    # Given an api behind a proxy on loopback, and one that lists none (the default)
    proxied, direct = own_api(TRACEDROP_TRUSTED_PROXIES="127.0.0.1"), own_api()

    with httpx.Client(base_url=proxied.url, timeout=30) as http:
        # Through the proxy, each client it names has its own count
        for _ in range(MAX_FAILURES):
            assert guess(http, "wrong", **{"X-Forwarded-For": "203.0.113.1"}).status_code == 401
        assert_locked(guess(http, "wrong", **{"X-Forwarded-For": "203.0.113.1"}))
        assert guess(http, "wrong", **{"X-Forwarded-For": "203.0.113.2"}).status_code == 401
        assert guess(http, TOKEN, **{"X-Forwarded-For": "203.0.113.2"}).status_code == 200
        # and it says when the browser came over https: the cookies are Secure
        assert "secure" in http.get("/admin/sign-in", headers={"X-Forwarded-Proto": "https"}
                                    ).headers["set-cookie"].lower()

    # Without a listed proxy, X-Forwarded-Proto is the client's word: no Secure cookie on plain http
    with httpx.Client(base_url=direct.url, timeout=30) as http:
        assert "secure" not in http.get("/admin/sign-in", headers={"X-Forwarded-Proto": "https"}
                                        ).headers["set-cookie"].lower()


def test_an_admin_token_under_32_characters_stops_the_api_at_start() -> None:
    env = stack.tracedrop_env("redis://127.0.0.1:1/0", TRACEDROP_ADMIN_TOKEN="x" * 31)
    result = subprocess.run([stack._binary("tracedrop"), "api", "--port", str(stack.free_port())], env=env,
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("tracedrop: TRACEDROP_ADMIN_TOKEN must be at least 32 characters")
    assert "tracedrop keygen" in line


def test_a_session_opened_with_an_earlier_admin_token_is_refused(own_api: OwnApi) -> None:
    # Given a session opened on the settings page
    first = own_api()
    with httpx.Client(base_url=first.url, timeout=30) as http:
        opened = sign_in(http, TOKEN, sign_in_form(http))
    assert opened.status_code == 303
    cookie = {"td_session": opened.cookies["td_session"]}

    # When the api restarts with the same token, the session goes on; with a new token, it is void
    first.stop()
    same = own_api()
    assert httpx.get(f"{same.url}/v1/workspaces", cookies=cookie).status_code == 200
    same.stop()
    changed = own_api(TRACEDROP_ADMIN_TOKEN="a-new-admin-token-after-a-leak-0123456789")
    assert httpx.get(f"{changed.url}/v1/workspaces", cookies=cookie).status_code == 401
    page = httpx.get(f"{changed.url}/admin", cookies=cookie, follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/admin/sign-in"


def test_metrics_with_a_token_set_answer_only_with_it(own_api: OwnApi) -> None:
    api = own_api(TRACEDROP_METRICS_TOKEN="metrics-scraper-token")
    admin = stack.Admin(api.url)
    admin.workspace("secret-project")
    key = admin.ingest_key("secret-project")
    with httpx.Client(base_url=api.url, timeout=30) as http:
        sent = http.post("/v1/traces", json=make_trace(), headers={"Authorization": f"Bearer {key}"})
        assert sent.status_code == 202
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Bearer {TOKEN}"}):
            refused = http.get("/metrics", headers=headers)
            assert refused.status_code == 401 and "secret-project" not in refused.text
        answered = http.get("/metrics", headers={"Authorization": "Bearer metrics-scraper-token"})
    assert answered.status_code == 200 and 'workspace="secret-project"' in answered.text
    admin.http.close()
