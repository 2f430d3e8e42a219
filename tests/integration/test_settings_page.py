"""The settings page at /admin, driven in Debian's Chromium by Playwright (the system browser: nothing is
downloaded), against the real stack. What is asserted is what a person sees on the page.

Screenshots of the list, the form with a failed test and a destination's detail view are written to
docs/screenshots/ for the README.
"""

from __future__ import annotations

import re
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests import stack
from tests.conftest import OWN_DATABASE, make_trace
from tests.receiver import Answer, Receiver, Request, start_receiver, webhook

pytestmark = pytest.mark.usefixtures("running")

TOKEN = stack.ADMIN_TOKEN
SCREENSHOTS = Path(__file__).parents[2] / "docs" / "screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    SCREENSHOTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                              args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield launched
        launched.close()


def new_page(browser: Browser, base_url: str, *, width: int = 1280) -> Page:
    context = browser.new_context(base_url=base_url, viewport={"width": width, "height": 900})
    context.set_default_timeout(20_000)
    return context.new_page()


@pytest.fixture()
def page(browser: Browser, api_server: stack.Api) -> Iterator[Page]:
    opened = new_page(browser, api_server.url)
    yield opened
    opened.context.close()


def sign_in(page: Page, token: str = TOKEN) -> None:
    page.goto("/admin/sign-in")
    page.get_by_label("Admin Token").fill(token)
    page.get_by_role("button", name="Sign In").click()


def test_a_wrong_token_reaches_nothing_and_sign_out_ends_the_session(page: Page, api_server: stack.Api,
                                                                    admin: stack.Admin, workspace: str) -> None:
    # A page without a session sends the browser to sign in
    page.goto(f"/admin/workspaces/{workspace}")
    expect(page).to_have_url(re.compile(r"/admin/sign-in$"))

    # A wrong token is refused and opens nothing
    sign_in(page, "not-the-token")
    expect(page.get_by_role("alert")).to_have_text("That is not the admin token.")
    page.goto("/admin")
    expect(page).to_have_url(re.compile(r"/admin/sign-in$"))
    assert TOKEN not in page.content()

    # The right one opens the workspaces; the token is in no URL and nowhere in the page
    sign_in(page)
    expect(page.get_by_role("heading", name="Workspaces")).to_be_visible()
    expect(page.get_by_role("link", name=workspace)).to_be_visible()
    assert TOKEN not in page.url and TOKEN not in page.content()
    cookie = next(c for c in page.context.cookies() if c["name"] == "td_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"

    # A change without the CSRF token is refused, with the cookie
    refused = page.evaluate("""async (ws) => (await fetch('/v1/workspaces/' + ws, {method: 'PUT',
        headers: {'Content-Type': 'application/json'}, body: JSON.stringify({broadcast_enabled: false})})).status""",
                            workspace)
    assert refused == 403
    signed_out_form = httpx.post(f"{api_server.url}/admin/sign-out", cookies={"td_session": cookie["value"]},
                                 follow_redirects=False)
    assert signed_out_form.status_code == 403  # a form post without the CSRF token
    assert admin.http.get(f"/v1/workspaces/{workspace}").json()["broadcast_enabled"] is True

    # Sign Out ends the session on the server: the old cookie opens nothing
    page.get_by_role("button", name="Sign Out").click()
    expect(page).to_have_url(re.compile(r"/admin/sign-in$"))
    old = {"td_session": cookie["value"]}
    assert httpx.get(f"{api_server.url}/admin", cookies=old, follow_redirects=False).status_code == 303
    assert httpx.get(f"{api_server.url}/v1/workspaces/{workspace}", cookies=old).status_code == 401


def posted(page: Page) -> list[int]:
    """The statuses of the page's POSTs from now on, as they are answered."""
    statuses: list[int] = []
    page.on("response", lambda answer: statuses.append(answer.status) if answer.request.method == "POST" else None)
    return statuses


def test_eight_wrong_tokens_in_a_row_are_refused_from_the_sixth_run_after_run(
        browser: Browser, own_api: Callable[..., stack.Api], redis_server: stack.RedisServer) -> None:
    # Its own api on its own Redis database, so that the block does not reach the other tests' address
    server = own_api()
    limiter = redis.Redis.from_url(f"{redis_server.url.rsplit('/', 1)[0]}/{OWN_DATABASE}")
    for _ in range(3):
        # Given a fresh browser and an address that has not failed lately
        limiter.flushdb()
        opened = new_page(browser, server.url)
        statuses = posted(opened)
        try:
            # When eight wrong tokens are sent in a row, Then the sixth on are refused unread, the right one too
            for _ in range(5):
                sign_in(opened, "wrong")
                expect(opened.get_by_role("alert")).to_have_text("That is not the admin token.")
            for token in ("wrong", "wrong", TOKEN):
                sign_in(opened, token)
                expect(opened.get_by_role("alert")).to_contain_text("Too many wrong tokens")
        finally:
            opened.context.close()
        assert statuses == [401] * 5 + [429] * 3
    answer = httpx.post(f"{server.url}/admin/sign-in", data={"token": TOKEN, "csrf": "x"})
    assert answer.status_code == 429 and int(answer.headers["retry-after"]) == 60
    limiter.close()


def test_every_page_answers_with_the_security_headers(page: Page, api_server: stack.Api) -> None:
    answer = page.goto("/admin/sign-in")
    assert answer is not None
    headers = answer.headers
    assert "script-src 'self'" in headers["content-security-policy"]
    assert "unsafe-inline" not in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["x-content-type-options"] == "nosniff"
    for path in ("/admin", "/admin/static/app.js"):
        assert "script-src 'self'" in httpx.get(f"{api_server.url}{path}").headers["content-security-policy"]


def test_an_operator_sets_up_broadcast_and_watches_it_work(page: Page, api_server: stack.Api,
                                                           admin: stack.Admin, tmp_path: Path) -> None:
    store = stack.seaweedfs(tmp_path / "store")
    receiver = start_receiver()
    try:
        run_the_flow(page, api_server, admin, store, receiver)
    finally:
        receiver.stop()
        store.stop()


def run_the_flow(page: Page, api_server: stack.Api, admin: stack.Admin, store: stack.SeaweedFS,
                 receiver: Receiver) -> None:
    bucket = f"page-{uuid.uuid4().hex[:8]}"
    store.client().create_bucket(Bucket=bucket)
    name = f"ws-page-{uuid.uuid4().hex[:6]}"

    # Sign in and create a workspace; broadcast starts off and is enabled with the switch
    sign_in(page)
    page.get_by_label("Workspace").fill(name)
    page.get_by_role("button", name="Create Workspace").click()
    expect(page.get_by_role("heading", name=name)).to_be_visible()
    switch = page.get_by_label("Enable Broadcast")
    expect(switch).not_to_be_checked()
    switch.check()
    expect(page.locator("#broadcast-outcome")).to_have_text("Broadcast enabled.")
    assert admin.http.get(f"/v1/workspaces/{name}").json()["broadcast_enabled"] is True

    # An ingest key, shown once
    page.get_by_label("Key Name").fill("gateway")
    page.get_by_role("button", name="Create Ingest Key").click()
    key = page.locator("#new-key-value")
    expect(key).to_have_text(re.compile(r"^td_"))
    ingest_key = key.inner_text()

    # The S3 form with a wrong secret: the test fails with its code and hint, and nothing is saved
    page.get_by_role("button", name="Add Destination").click()
    page.get_by_label("Name", exact=True).fill("archive")
    expect(page.get_by_role("radio", name="S3", exact=True)).to_be_checked()
    page.get_by_label("Bucket Name").fill(bucket)
    page.get_by_label("Region").filter(visible=True).fill("us-east-1")  # New Relic's form has one too
    page.get_by_label("Custom Endpoint").fill(store.endpoint)
    page.get_by_label("Access Key Id").fill(stack.ADMIN_KEY)
    page.get_by_label("Secret Access Key").fill("wrong-secret")
    page.get_by_label("Prefix").fill("prod")
    preview = page.locator("#key-preview")
    expect(preview).to_contain_text("prod/2024-01-15/gen-1705312800-abc123-1705312800.json")
    page.get_by_label("Path Template").fill("{prefix}/{nope}")
    expect(preview).to_contain_text("nope")
    page.get_by_label("Path Template").fill("{prefix}/{date}")
    page.get_by_role("button", name="Test Connection").click()
    outcome = page.locator("#form-outcome")
    expect(outcome).to_contain_text("signature_mismatch")
    expect(outcome).to_contain_text("check access_secret")
    page.screenshot(path=str(SCREENSHOTS / "form-failed-test.png"), full_page=True)
    page.get_by_role("button", name="Save").click()
    expect(outcome).to_contain_text("signature_mismatch")
    assert admin.http.get(f"/v1/workspaces/{name}/destinations").json() == {"destinations": []}

    # A field the API refuses shows its reason next to it
    page.get_by_label("Sampling Rate").fill("2")
    page.get_by_role("button", name="Save").click()
    expect(page.locator('.field[data-field="sampling_rate"] .problem')).to_contain_text("less than or equal to 1")
    page.get_by_label("Sampling Rate").fill("1")

    # Fixed, it saves and the destination shows healthy
    page.get_by_label("Secret Access Key").fill(store.secret())
    page.get_by_role("button", name="Test Connection").click()
    expect(outcome).to_have_text("Connection test passed")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name=re.compile("^archive"))).to_be_visible()
    destination = page.url.rsplit("/", 1)[1]
    expect(page.locator('#detail [data-field="target"]')).to_have_text(
        f"bucket_name {bucket} · endpoint {store.endpoint} · region us-east-1 · prefix prod")
    expect(page.get_by_role("button", name="Replay")).to_be_hidden()  # no dead letter: nothing to replay
    page.get_by_role("link", name=name).click()
    row = page.locator(f'tr[data-destination="{destination}"]')
    expect(row.locator(".badge")).to_have_text("healthy")
    expect(row.locator('[data-field="type"]')).to_have_text("S3")

    # Traces sent through the ingest API: the delivered count rises on the open page
    ingest = httpx.Client(base_url=api_server.url, headers={"Authorization": f"Bearer {ingest_key}"}, timeout=30)
    assert ingest.post("/v1/traces", json={"traces": [make_trace(i) for i in range(5)]}).status_code == 202
    expect(row.locator('[data-field="delivered"]')).to_have_text("5", timeout=60_000)
    page.screenshot(path=str(SCREENSHOTS / "destinations.png"), full_page=True)

    # The store stops: the destination turns failing with its error; it starts: the destination recovers
    store.kill()
    assert ingest.post("/v1/traces", json={"traces": [make_trace(i) for i in range(5, 10)]}).status_code == 202
    expect(row.locator(".badge")).to_have_text("failing", timeout=60_000)
    expect(row.locator('[data-field="last_error"]')).to_contain_text(
        re.compile("endpoint_unreachable|timeout|store_unavailable"))
    store.start()
    expect(row.locator('[data-field="delivered"]')).to_have_text("10", timeout=120_000)
    expect(row.locator(".badge")).to_have_text("healthy", timeout=30_000)

    # A webhook with a poison trace: a dead letter, replayed from the detail view once the receiver is fixed
    fixed = {"done": False}

    def picky(request: Request) -> Answer:
        if b"poison" in request.body and not fixed["done"]:
            return 422, {}, b"poison is not welcome"
        return 200, {}, b""

    receiver.behave = picky
    hook: dict[str, Any] = admin.destination(name, webhook(receiver, name="events", format="json"))
    assert ingest.post("/v1/traces", json={"traces": [make_trace(20, user="poison")]}).status_code == 202
    page.goto(f"/admin/workspaces/{name}/destinations/{hook['id']}")
    letters = page.locator("#dead-letters tbody")
    expect(letters).to_contain_text("receiver_refused", timeout=60_000)
    expect(letters).to_contain_text("poison is not welcome")
    page.screenshot(path=str(SCREENSHOTS / "destination-detail.png"), full_page=True)
    fixed["done"] = True
    page.get_by_role("button", name="Replay").click()
    expect(page.locator("#replay-outcome")).to_have_text("Replayed 1.")
    expect(page.locator('#detail [data-field="delivered"]')).to_have_text("1", timeout=60_000)
    expect(letters).to_be_empty()
    expect(page.get_by_role("button", name="Replay")).to_be_hidden()

    # Edit: secrets are never sent to the browser; the form says a value is stored, and leaving it keeps it
    page.goto(f"/admin/workspaces/{name}/destinations/{destination}")
    page.get_by_role("button", name="Edit").click()
    secret_field = page.get_by_label("Secret Access Key")
    expect(secret_field).to_have_attribute("placeholder", "stored")
    expect(secret_field).to_have_value("")
    assert store.secret() not in page.content()
    page.get_by_label("Name", exact=True).fill("archive-2")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name=re.compile("^archive-2"))).to_be_visible()
    ingest.close()


def test_the_page_reads_at_phone_width_and_works_with_the_keyboard(browser: Browser, api_server: stack.Api,
                                                                    admin: stack.Admin, workspace: str) -> None:
    opened = new_page(browser, api_server.url, width=390)
    try:
        sign_in(opened)
        opened.get_by_role("link", name=workspace).click()
        expect(opened.get_by_label("Enable Broadcast")).to_be_visible()
        width = opened.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the page scrolls sideways at phone width ({width} px)"

        # Tab reaches the switch, and Space turns broadcast off
        for _ in range(20):
            opened.keyboard.press("Tab")
            if opened.evaluate("document.activeElement.id") == "broadcast":
                break
        assert opened.evaluate("document.activeElement.id") == "broadcast", "Tab never reached the switch"
        opened.keyboard.press("Space")
        expect(opened.locator("#broadcast-outcome")).to_have_text("Broadcast disabled.")
        assert admin.http.get(f"/v1/workspaces/{workspace}").json()["broadcast_enabled"] is False
    finally:
        opened.context.close()


def test_a_webhook_is_added_edited_disabled_and_deleted_from_the_page(page: Page, admin: stack.Admin,
                                                                      workspace: str) -> None:
    receiver, elsewhere = start_receiver(), start_receiver()
    try:
        key = admin.ingest_key(workspace, "old-gateway")
        sign_in(page)
        page.get_by_role("link", name=workspace).click()

        # Revoking a key asks first
        page.once("dialog", lambda dialog: dialog.accept())
        page.get_by_role("button", name="Revoke old-gateway").click()
        expect(page.locator("#key-outcome")).to_have_text("Revoked.")
        assert admin.http.get(f"/v1/workspaces/{workspace}/ingest-keys").json()["ingest_keys"] == []
        assert key

        # The webhook form: its fields show for its type; the test passes against the receiver
        page.get_by_role("button", name="Add Destination").click()
        page.get_by_label("Name", exact=True).fill("events")
        page.get_by_role("radio", name="Webhook", exact=True).check()
        expect(page.get_by_label("Bucket Name")).to_be_hidden()
        page.get_by_label("URL", exact=True).filter(visible=True).fill(receiver.url)
        page.get_by_label("Body Format").select_option("json")
        expect(page.locator('.field[data-field="format"]').filter(visible=True).locator("small")).to_contain_text(
            "In the API: format.")  # the page's label and the API's name, side by side
        page.get_by_label("Headers").fill("Authorization: Bearer page-secret")
        page.get_by_label("Signing Secret").fill("whsec_" + "a" * 40)
        page.get_by_role("button", name="Test Connection").click()
        expect(page.locator("#form-outcome")).to_have_text("Connection test passed")
        assert receiver.requests[-1].headers["authorization"] == "Bearer page-secret"
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_role("heading", name=re.compile("^events"))).to_be_visible()

        # Edit: the header's value is not sent back (it shows masked); saving with it so keeps it
        page.get_by_role("button", name="Edit").click()
        expect(page.get_by_label("Headers")).to_have_value("Authorization: ********")
        assert "page-secret" not in page.content()
        page.get_by_label("Batch Size").fill("5")
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_role("heading", name=re.compile("^events"))).to_be_visible()
        assert receiver.requests[-1].testing and receiver.requests[-1].headers["authorization"] == "Bearer page-secret"
        destination = page.url.rsplit("/", 1)[1]
        saved = admin.http.get(f"/v1/workspaces/{workspace}/destinations/{destination}").json()
        assert saved["batch_size"] == 5 and saved["headers"] == {"Authorization": "********"}

        # Moving it to another URL needs its secrets typed again: the form says so under them, and the other
        # receiver gets nothing until they are
        page.get_by_role("button", name="Edit").click()
        page.get_by_label("URL", exact=True).filter(visible=True).fill(elsewhere.url)
        page.get_by_role("button", name="Save").click()
        for field in ("headers", "signing_secret"):
            expect(page.locator(f'[data-kind="webhook"] .field[data-field="{field}"] .problem')).to_contain_text(
                "url changes: send it again")
        assert elsewhere.requests == []
        page.get_by_label("Headers").fill("Authorization: Bearer moved-secret")
        page.get_by_label("Signing Secret").fill("whsec_" + "b" * 40)
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_role("heading", name=re.compile("^events"))).to_be_visible()
        [moved] = elsewhere.requests
        assert moved.testing and moved.headers["authorization"] == "Bearer moved-secret"

        # Disable, then delete (after a confirmation)
        page.get_by_role("button", name="Disable").click()
        expect(page.locator('#detail [data-field="state"] .badge')).to_have_text("disabled")
        page.once("dialog", lambda dialog: dialog.accept())
        page.get_by_role("button", name="Delete").click()
        expect(page.get_by_role("heading", name=workspace)).to_be_visible()
        assert admin.http.get(f"/v1/workspaces/{workspace}/destinations").json() == {"destinations": []}
    finally:
        receiver.stop()
        elsewhere.stop()


def test_add_destination_is_a_catalogue_of_every_kind(page: Page, admin: stack.Admin, workspace: str) -> None:
    """Every kind the API describes is offered by its name and one line; choosing one shows its form alone."""
    described = admin.http.get("/v1/destination-types").json()["types"]
    sign_in(page)
    page.goto(f"/admin/workspaces/{workspace}/destinations/new")
    cards = page.locator(".kind-card")
    expect(cards).to_have_count(len(described))
    for kind in described:
        assert kind["title"] and kind["summary"], kind["type"]
        radio = page.get_by_role("radio", name=kind["title"], exact=True)
        expect(radio).to_have_accessible_description(kind["summary"])
        radio.check()
        form = page.locator(f'fieldset[data-kind="{kind["type"]}"]')
        expect(form).to_be_visible()
        expect(page.locator("fieldset[data-kind]:visible")).to_have_count(1)
        for field in kind["fields"]:
            if field["shown_when"] is None:
                expect(form.locator(f'.field[data-field="{field["name"]}"]')).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "catalogue.png"), full_page=True)


def test_a_form_shows_and_sends_only_the_fields_of_its_kind_and_mode(page: Page, workspace: str) -> None:
    sign_in(page)
    page.goto(f"/admin/workspaces/{workspace}/destinations/new")

    # Per trace: the batch fields are hidden and not sent, nor are another kind's fields
    expect(page.get_by_label("Every")).to_be_hidden()
    expect(page.get_by_label("Format", exact=True)).to_be_hidden()
    with page.expect_request("**/destinations/test") as tested:
        page.get_by_role("button", name="Test Connection").click()
    body = tested.value.post_data_json
    assert body["type"] == "s3" and body["mode"] == "per_trace" and body["prefix"] == "" and body["region"] is None
    assert not {"every", "limit", "format", "access_secret", "url", "headers"} & set(body)

    # Batch: they show, the preview names a batch file, and they are sent
    page.get_by_label("Mode", exact=True).select_option("batch")
    page.get_by_label("Every").fill("60")
    page.get_by_label("Format", exact=True).select_option("jsonl.gz")
    expect(page.locator("#key-preview")).to_contain_text(".jsonl.gz")
    with page.expect_request("**/destinations/test") as tested:
        page.get_by_role("button", name="Test Connection").click()
    body = tested.value.post_data_json
    assert (body["every"], body["limit"], body["format"]) == (60, 1000, "jsonl.gz")

    # A webhook sends its own format, and a problem with it shows under Body Format
    page.get_by_role("radio", name="Webhook", exact=True).check()
    expect(page.get_by_label("Every")).to_be_hidden()
    page.get_by_label("Name", exact=True).fill("events")
    page.get_by_label("URL", exact=True).filter(visible=True).fill("https://hooks.example.com/llm")
    page.locator("#f-webhook-format").evaluate("select => select.add(new Option('yaml', 'yaml', true, true))")
    with page.expect_request(re.compile(r"/destinations$")) as saved:
        page.get_by_role("button", name="Save").click()
    body = saved.value.post_data_json
    assert body["format"] == "yaml" and body["headers"] == {} and not {"mode", "every", "bucket_name"} & set(body)
    expect(page.locator('[data-kind="webhook"] .field[data-field="format"] .problem')).to_contain_text("otlp_json")
    expect(page.locator('[data-kind="s3"] .field[data-field="format"] .problem')).to_be_empty()


def test_behind_an_https_proxy_the_session_cookie_is_secure(proxied_api: stack.Api) -> None:
    with httpx.Client(base_url=proxied_api.url, headers={"X-Forwarded-Proto": "https"}) as client:
        form = client.get("/admin/sign-in")
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert csrf is not None and "secure" in form.headers["set-cookie"].lower()
        # (a Secure cookie is not sent back over this plain loopback connection by httpx: send it by hand)
        signed = client.post("/admin/sign-in", data={"token": TOKEN, "csrf": csrf.group(1)}, follow_redirects=False,
                             headers={"Cookie": f"td_sign_in={form.cookies['td_sign_in']}"})
    assert signed.status_code == 303 and signed.headers["location"] == "/admin"
    cookie = next(c for c in signed.headers.get_list("set-cookie") if c.startswith("td_session="))
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie


def test_rules_and_redaction_are_tried_on_a_trace_and_saved_from_the_destination_page(
        page: Page, admin: stack.Admin, workspace: str) -> None:
    receiver = start_receiver()
    try:
        destination = admin.destination(workspace, webhook(receiver, name="scrubbed", format="json"))
        sign_in(page)
        page.goto(f"/admin/workspaces/{workspace}/destinations/{destination['id']}")

        # A malformed rule shows its path and reason
        page.get_by_label("Filter rules (JSON)").fill(
            '{"groups": [{"rules": [{"field": "total_cost", "operator": "gte", "value": "a lot"}]}]}')
        page.get_by_role("button", name="Preview").click()
        expect(page.locator("[data-field=filter_rules] .problem")).to_have_text(
            "filter_rules.groups[0].rules[0].value: must be a number for gte")

        # The sample trace, previewed with an email detector: what the webhook would get, the email replaced
        page.get_by_label("Filter rules (JSON)").fill("")
        page.get_by_label("Redaction (JSON)").fill('{"detectors": ["email"]}')
        page.get_by_role("button", name="Preview").click()
        expect(page.locator("#rules-outcome")).to_have_text("Taken")
        answer = page.locator("#preview-answer")
        expect(answer).to_contain_text("[EMAIL]")
        expect(answer).not_to_contain_text("ada@example.com")

        # A rule the trace fails says which one decided; saving keeps the rules for the destination
        page.get_by_label("Filter rules (JSON)").fill(
            '{"groups": [{"rules": [{"field": "api_key_name", "operator": "not_equals", "value": "prod"}]}]}')
        page.get_by_role("button", name="Preview").click()
        expect(page.locator("#rules-outcome")).to_have_text("Not taken: filter_rules.groups[0].rules[0] decided.")
        page.get_by_role("button", name="Save rules").click()
        expect(page.locator("#rules-outcome")).to_have_text("Saved.")
        saved = admin.http.get(f"/v1/workspaces/{workspace}/destinations/{destination['id']}").json()
        assert saved["redaction"]["detectors"] == ["email"]
        assert saved["filter_rules"]["groups"][0]["rules"][0]["value"] == "prod"
    finally:
        receiver.stop()


def test_the_page_says_when_no_worker_runs_and_when_broadcast_off_discards_traces(
        browser: Browser, own_api: Callable[..., stack.Api]) -> None:
    # Given an api no worker serves (a Redis database of its own), and a workspace with broadcast off
    api = own_api()
    admin = stack.Admin(api.url)
    admin.workspace("silent", broadcast_enabled=False)
    key = admin.ingest_key("silent")
    page = new_page(browser, api.url)
    sign_in(page)

    # Then the page says no worker runs, and, before any trace arrives, nothing about broadcast
    page.goto("/admin/workspaces/silent")
    banners = page.get_by_role("alert")
    expect(banners).to_have_count(1)
    expect(banners).to_contain_text("No worker is running: 0 traces are stored and owed")

    # When traces arrive while broadcast is off, then the page says they are discarded
    answer = httpx.post(f"{api.url}/v1/traces", json={"traces": [make_trace(1), make_trace(2)]},
                        headers={"Authorization": f"Bearer {key}"})
    assert answer.json() == {"accepted": 2, "owed": 0, "discarded": {"broadcast_off": 2}}
    page.reload()
    expect(banners.nth(1)).to_have_text("Broadcast is off, and traces are arriving: 2 were received and discarded. "
                                        "Enable Broadcast to deliver the next ones.")
    page.context.close()
    admin.http.close()


@pytest.mark.parametrize("path, shows", [("/docs", "/v1/traces"), ("/redoc", "tracedrop")])
def test_the_api_reference_pages_load_from_the_api_alone(browser: Browser, api_server: stack.Api, path: str,
                                                         shows: str) -> None:
    # Given a browser that can reach nothing but the api (no CDN)
    page = new_page(browser, api_server.url)
    elsewhere: list[str] = []

    def only_the_api(route: Any) -> None:
        if route.request.url.startswith(api_server.url):
            route.continue_()
        else:  # ReDoc's sidebar shows its maker's logo from its CDN: an image, the page works without it
            if route.request.resource_type != "image":
                elsewhere.append(route.request.url)
            route.abort()

    page.context.route("**/*", only_the_api)

    # When the reference page opens, then it renders the API from the api's own scripts and styles
    page.goto(path)
    expect(page.get_by_text(shows).first).to_be_visible(timeout=30_000)
    assert elsewhere == []
    page.context.close()


def test_a_parked_destination_says_what_parked_means_and_when_it_is_probed(
        page: Page, admin: stack.Admin, workspace: str, ingest: httpx.Client) -> None:
    # Given a webhook whose receiver starts refusing the credentials once it is saved
    receiver = start_receiver()
    try:
        destination = admin.destination(workspace, webhook(receiver, name="refused", format="json"))["id"]
        receiver.behave = lambda request: (401, {}, b"who are you")
        assert ingest.post("/v1/traces", json=make_trace(1)).status_code == 202

        # When its page is open, then it shows parked, what that means and the next probe's time
        sign_in(page)
        page.goto(f"/admin/workspaces/{workspace}/destinations/{destination}")
        state = page.locator('#detail [data-field="state"]')
        expect(state.locator(".badge")).to_have_text("parked", timeout=60_000)
        probe = admin.status(workspace, destination)["next_probe_at"]
        expect(state).to_contain_text(re.compile(
            r"Nothing is attempted until the connection test passes again: the next probe is at "
            r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z, or save a fix\."))
        assert probe is not None
        expect(page.locator('#detail [data-field="target"]')).to_have_text(f"url {receiver.url}")
    finally:
        receiver.stop()
