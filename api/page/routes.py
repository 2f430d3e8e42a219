"""The settings page: sign in and out, and the pages, rendered on the server.

Every change a page makes goes through the admin API itself (``static/app.js`` calls it with the session cookie and
the CSRF token), so the page has the API's validation, connection test and audit entries, and nothing of its own.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from api.deps import LockoutDep, RedisDep, SettingsDep, Workspace
from api.errors import ApiError
from api.lockout import Locked, client_of, same_token
from api.page import session
from api.page.session import Session
from api.routes.destinations import owned
from api.routes.workspaces import existing
from worker import keys, kinds, liveness, store
from worker.destination import DestinationConfig
from worker.forms import FormField, Preview, form_fields
from worker.preview import SAMPLE_TRACE

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
SIGN_IN = "/admin/sign-in"
MAX_FORM_BYTES = 16 * 1024
HEAD = ("name", "type")
"""The shared fields shown above a kind's own; the other shared fields are under "Which traces"."""


def secure(request: Request) -> bool:
    """Whether the browser reached us over https (directly, or through a trusted proxy that says so: uvicorn sets the
    scheme from ``X-Forwarded-Proto`` only for TRACEDROP_TRUSTED_PROXIES)."""
    return request.url.scheme == "https"


def current(request: Request, redis: RedisDep, settings: SettingsDep) -> Session | None:
    return session.find(redis, request.cookies.get(session.COOKIE),
                        admin_token=settings.admin_token.get_secret_value())


def page(request: Request, name: str, found: Session | None, status_code: int = 200, **context: Any) -> Response:
    return templates.TemplateResponse(request, name, {"csrf": found.csrf if found else "", **context},
                                      status_code=status_code)


async def form(request: Request) -> dict[str, str]:
    body = await request.body()
    fields = parse_qs(body[:MAX_FORM_BYTES].decode("utf-8", "replace"), keep_blank_values=True)
    return {name: values[0] for name, values in fields.items()}


def sign_in_page(request: Request, *, error: str | None = None, status_code: int = 200) -> Response:
    token = secrets.token_urlsafe(32)
    response = page(request, "sign_in.html", None, status_code=status_code, sign_in_csrf=token, error=error)
    response.set_cookie(session.SIGN_IN_COOKIE, token, httponly=True, samesite="strict", secure=secure(request),
                        path=SIGN_IN)
    return response


@router.get(SIGN_IN, response_class=HTMLResponse)
def sign_in_form(request: Request) -> Response:
    return sign_in_page(request)


@router.post(SIGN_IN, response_class=HTMLResponse)
async def sign_in(request: Request, redis: RedisDep, settings: SettingsDep, lockout: LockoutDep) -> Response:
    fields = await form(request)
    fresh = same_token(fields.get("csrf"), request.cookies.get(session.SIGN_IN_COOKIE, ""))
    admin_token = settings.admin_token.get_secret_value()
    right = fresh and same_token(fields.get("token"), admin_token)
    try:
        lockout.attempt(client_of(request), "right" if right else "wrong" if fresh else "none")
    except Locked as exc:
        response = sign_in_page(request, error=f"Too many wrong tokens: try again in {exc.seconds} s.",
                                status_code=429)
        response.headers["Retry-After"] = str(exc.seconds)
        return response
    if not fresh:
        return sign_in_page(request, error="The form expired: sign in again.", status_code=403)
    if not right:
        return sign_in_page(request, error="That is not the admin token.", status_code=401)
    token, _ = session.open_session(redis, admin_token=admin_token)
    response = RedirectResponse("/admin", status_code=303)
    response.set_cookie(session.COOKIE, token, httponly=True, samesite="strict", secure=secure(request),
                        max_age=session.TTL_SECONDS, path="/")
    response.delete_cookie(session.SIGN_IN_COOKIE, path=SIGN_IN)
    return response


@router.post("/admin/sign-out")
async def sign_out(request: Request, redis: RedisDep, settings: SettingsDep) -> Response:
    found = current(request, redis, settings)
    if found is not None and not same_token((await form(request)).get("csrf"), found.csrf):
        return Response("CSRF token missing or wrong", status_code=403)
    session.close(redis, request.cookies.get(session.COOKIE))
    response = RedirectResponse(SIGN_IN, status_code=303)
    response.delete_cookie(session.COOKIE, path="/")
    return response


def signed_in(request: Request, redis: RedisDep, settings: SettingsDep) -> Session:
    """The page's session; without one the browser is sent to sign in."""
    found = current(request, redis, settings)
    if found is None:
        raise ApiError(303, "sign_in_required", "sign in first", headers={"Location": SIGN_IN})
    return found


SignedIn = Annotated[Session, Depends(signed_in)]


def banners(redis: RedisDep, workspace: dict[str, Any] | None = None) -> list[str]:
    """What a person must know before anything else: no worker is alive; the workspace's traces are discarded."""
    found: list[str] = []
    moving = liveness.read(redis)
    if not moving.worker_alive:
        found.append(f"No worker is running: {moving.owed} traces are stored and owed, and none is delivered until "
                     "a worker runs (`tracedrop worker`, or `tracedrop up`).")
    if workspace is not None and not workspace["broadcast_enabled"]:
        discarded = int(redis.hget(keys.DISCARDED, workspace["workspace"]) or 0)
        if discarded:
            found.append(f"Broadcast is off, and traces are arriving: {discarded} were received and discarded. "
                         "Enable Broadcast to deliver the next ones.")
    return found


@router.get("/admin", response_class=HTMLResponse)
def workspaces_page(request: Request, redis: RedisDep, found: SignedIn) -> Response:
    return page(request, "workspaces.html", found, workspaces=store.list_workspaces(redis), banners=banners(redis))


@router.get("/admin/workspaces/{ws}", response_class=HTMLResponse)
def workspace_page(request: Request, ws: Workspace, redis: RedisDep, settings: SettingsDep,
                   found: SignedIn) -> Response:
    workspace = existing(redis, ws)
    destinations = store.list_destinations(redis, workspace=ws, secret_key=settings.secret_key.get_secret_value())
    titles = {name: kind.config.TITLE or name for name, kind in kinds.KINDS.items()}
    return page(request, "workspace.html", found, workspace=workspace, destinations=destinations, titles=titles,
                ingest_keys=store.list_ingest_keys(redis, workspace=ws), banners=banners(redis, workspace))


@dataclass(frozen=True)
class KindForm:
    name: str
    title: str
    summary: str
    fields: list[FormField]
    preview: Preview | None


def form_context(configs: Mapping[str, type[DestinationConfig]], destination: dict[str, Any] | None
                 ) -> dict[str, Any]:
    """What form.html renders: the shared fields and, for each kind offered (by name, the first checked), its name,
    summary and the fields it adds."""
    shared = {field.name: field for field in form_fields(DestinationConfig)}
    forms = [KindForm(name, config.TITLE or name, config.SUMMARY, form_fields(config, skip=shared), config.PREVIEW)
             for name, config in configs.items()]
    return {"destination": destination, "head": [shared.pop(name) for name in HEAD], "kinds": forms,
            "traces": list(shared.values())}


@router.get("/admin/workspaces/{ws}/destinations/new", response_class=HTMLResponse)
def new_destination_page(request: Request, ws: Workspace, redis: RedisDep, found: SignedIn) -> Response:
    existing(redis, ws)
    offered = {name: kinds.KINDS[name].config for name in sorted(kinds.KINDS, key=lambda n: (n != kinds.DEFAULT, n))}
    return page(request, "form.html", found, workspace=ws, **form_context(offered, None))


@router.get("/admin/workspaces/{ws}/destinations/{destination_id}", response_class=HTMLResponse)
def destination_page(request: Request, ws: Workspace, destination_id: str, redis: RedisDep,
                     settings: SettingsDep, found: SignedIn) -> Response:
    destination = owned(redis, settings, ws, destination_id)
    public = destination.public()
    editor = {name: json.dumps(public[name], indent=2, ensure_ascii=False) if public[name] is not None else ""
              for name in ("filter_rules", "redaction")}
    return page(request, "destination.html", found, workspace=ws, destination=destination,
                title=kinds.kind_named(destination.type).config.TITLE or destination.type, editor=editor,
                sample=json.dumps(SAMPLE_TRACE, indent=2, ensure_ascii=False))


@router.get("/admin/workspaces/{ws}/destinations/{destination_id}/edit", response_class=HTMLResponse)
def edit_destination_page(request: Request, ws: Workspace, destination_id: str, redis: RedisDep,
                          settings: SettingsDep, found: SignedIn) -> Response:
    public = owned(redis, settings, ws, destination_id).public()
    offered = {public["type"]: kinds.kind_named(public["type"]).config}
    return page(request, "form.html", found, workspace=ws, **form_context(offered, public))
