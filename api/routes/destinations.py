"""Destinations: saved only after a connection test passes; secrets never leave."""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import APIRouter, Body, Response
from pydantic import SecretStr, ValidationError

from api.deps import Admin, AnnounceDep, OutboxDep, RedisDep, SettingsDep, Workspace
from api.errors import ApiError, invalid
from api.responses import OrjsonResponse
from api.routes.workspaces import existing
from worker import keys, kinds, store
from worker.destination import ASSIGNED, Destination, DestinationConfig
from worker.errors import DeliveryError
from worker.settings import Settings

router = APIRouter(tags=["destinations"], dependencies=[Admin])

TESTS_PER_MINUTE = 30


def rate_limit(redis: RedisDep, workspace: str) -> None:
    """At most TESTS_PER_MINUTE connection tests per workspace per fixed one-minute window (429 beyond)."""
    window = keys.rate_window(workspace)
    with redis.pipeline() as pipe:
        pipe.set(window, 0, ex=60, nx=True)
        pipe.incr(window)
        pipe.ttl(window)
        _, count, ttl = pipe.execute()
    if count > TESTS_PER_MINUTE:
        raise ApiError(429, "rate_limited", f"at most {TESTS_PER_MINUTE} connection tests a minute per workspace; "
                       "try again after Retry-After seconds", headers={"Retry-After": str(max(1, int(ttl)))})


def run_test(config: DestinationConfig, settings: Settings, redis: RedisDep, workspace: str) -> dict[str, Any]:
    """The connection test; a failure answers 400 with its code and nothing is saved."""
    rate_limit(redis, workspace)
    try:
        return kinds.connection_test(config, allow_private=settings.allow_private_endpoints)
    except DeliveryError as exc:
        raise TestFailed(exc) from exc


class TestFailed(ApiError):
    """A connection test that did not pass: answered 400 with its code."""

    def __init__(self, error: DeliveryError) -> None:
        super().__init__(400, error.code, error.message)


def failed(exc: TestFailed) -> OrjsonResponse:
    return OrjsonResponse({"ok": False, "error": {"code": exc.code, "message": exc.message}}, status_code=400)


def refused(field: str, reason: str) -> ApiError:
    return ApiError(422, "invalid_destination", f"{field}: {reason}", problems=[{"field": field, "reason": reason}])


def validated(data: dict[str, Any]) -> DestinationConfig:
    """The body as its kind's config, or a 422 naming every refused field."""
    try:
        return kinds.config(data)
    except kinds.UnknownKind as exc:
        raise refused("type", str(exc)) from None
    except ValidationError as exc:
        raise invalid(exc.errors(), code="invalid_destination", known=kinds.kind_of(data).config.model_fields
                      ) from None


def _plain(value: Any) -> Any:
    return value.get_secret_value() if isinstance(value, SecretStr) else value


def changed_fields(current: DestinationConfig, config: DestinationConfig) -> list[str]:
    """Names of the fields a PATCH changed (secrets by name only)."""
    return sorted(name for name in type(config).model_fields
                  if _plain(getattr(current, name)) != _plain(getattr(config, name)))


def saved(config: DestinationConfig, *, redaction_key: SecretStr | None = None, **assigned: str) -> Destination:
    """The destination saved, with the key of its hash tokens: ``redaction_key`` kept, or a new one made."""
    key = redaction_key or SecretStr(secrets.token_hex(32))
    return kinds.kind_named(config.type).destination.model_validate(
        {**config.model_dump(), **assigned, "redaction_key": key})


def owned(redis: RedisDep, settings: Settings, workspace: str, destination_id: str) -> Destination:
    found = store.load_destination(redis, destination_id=destination_id,
                                   secret_key=settings.secret_key.get_secret_value())
    if found is None or found.workspace != workspace:
        raise ApiError(404, "not_found", f"destination {destination_id!r} does not exist")
    return found


def inlined(schema: dict[str, Any]) -> dict[str, Any]:
    """A model's JSON schema with its ``$defs`` (nested models: filter rules, redaction) put where they are referred
    to, so that it stands alone inside another document (the request bodies below)."""
    defs = schema.get("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return resolve(defs[node["$ref"].rsplit("/", 1)[-1]])
            return {key: resolve(value) for key, value in node.items() if key != "$defs"}
        if isinstance(node, list):
            return [resolve(item) for item in node]
        return node

    return dict(resolve(schema))


DestinationBody = Body(description="A destination of one of the kinds, by its type.", media_type="application/json")
_FULL = {"oneOf": [inlined(kind.config.model_json_schema()) for kind in kinds.KINDS.values()]}
_PARTIAL = {"oneOf": [{**inlined(kind.config.model_json_schema()), "required": []} for kind in kinds.KINDS.values()]}
FULL_BODY = {"requestBody": {"required": True, "content": {"application/json": {"schema": _FULL}}}}
PARTIAL_BODY = {"requestBody": {"required": True, "content": {"application/json": {"schema": _PARTIAL}}}}


@router.post("/v1/workspaces/{ws}/destinations/test", responses={400: {}, 429: {}}, openapi_extra=FULL_BODY)
def test_destination(ws: Workspace, body: dict[str, Any] = DestinationBody, *, redis: RedisDep,
                     settings: SettingsDep) -> Any:
    existing(redis, ws)
    config = validated(body)
    try:
        done = run_test(config, settings, redis, ws)
    except TestFailed as exc:
        return failed(exc)
    return {"ok": True, **done}


_PREVIEWS = {"oneOf": [kind.preview.model_json_schema() for kind in kinds.KINDS.values() if kind.preview]}
PREVIEW_BODY = {"requestBody": {"required": True, "content": {"application/json": {"schema": _PREVIEWS}}}}


@router.post("/v1/workspaces/{ws}/destinations/preview-key", openapi_extra=PREVIEW_BODY)
def preview_key(ws: Workspace, body: dict[str, Any] = DestinationBody, *, redis: RedisDep) -> dict[str, Any]:
    """Where a sample trace would go with these settings, for the kinds that offer a preview (S3: its key)."""
    existing(redis, ws)
    try:
        preview = kinds.kind_of(body).preview
    except kinds.UnknownKind as exc:
        raise refused("type", str(exc)) from None
    if preview is None:
        raise refused("type", f"{body['type']} destinations have no key preview")
    try:
        return preview.model_validate(body).answer()
    except ValidationError as exc:
        raise invalid(exc.errors(), code="invalid_destination") from None


@router.post("/v1/workspaces/{ws}/destinations", status_code=201, responses={400: {}, 429: {}},
             openapi_extra=FULL_BODY)
def create_destination(ws: Workspace, body: dict[str, Any] = DestinationBody, *, redis: RedisDep,
                       settings: SettingsDep) -> Any:
    existing(redis, ws)
    config = validated(body)
    try:
        run_test(config, settings, redis, ws)
    except TestFailed as exc:
        return failed(exc)
    destination = saved(config, id=store.new_destination_id(), workspace=ws, created_at=store.now_iso())
    store.save_destination(redis, destination=destination, secret_key=settings.secret_key.get_secret_value(),
                           action="destination.created")
    return OrjsonResponse(destination.public(), status_code=201)


@router.get("/v1/workspaces/{ws}/destinations")
def list_destinations(ws: Workspace, redis: RedisDep, settings: SettingsDep) -> dict[str, Any]:
    existing(redis, ws)
    found = store.list_destinations(redis, workspace=ws, secret_key=settings.secret_key.get_secret_value())
    return {"destinations": [d.public() for d in found]}


@router.get("/v1/workspaces/{ws}/destinations/{destination_id}")
def get_destination(ws: Workspace, destination_id: str, redis: RedisDep, settings: SettingsDep) -> dict[str, Any]:
    return owned(redis, settings, ws, destination_id).public()


def patched(current: Destination, body: dict[str, Any]) -> DestinationConfig:
    """A saved destination with a PATCH body applied (secrets left out or masked are kept), validated; a body that
    moves it elsewhere (its kind's LOCATION) must send every stored secret again: 422 naming those it kept."""
    for field in sorted(ASSIGNED):
        if field in body:
            raise refused(field, "cannot be changed")
    if "type" in body and body["type"] != current.type:
        raise refused("type", "cannot be changed: create a destination of the other kind")
    try:
        merged = current.merged(body)
    except ValueError as exc:
        field, _, reason = str(exc).partition(": ")
        raise refused(field, reason) from None
    config = validated(merged)
    withheld = current.withheld(config, body)
    if withheld:
        moved = " and ".join(current.moves(config))
        reason = f"{moved} changes: send it again, as a stored secret is never sent to a new address"
        raise ApiError(422, "secrets_required", "; ".join(f"{field}: {reason}" for field in withheld),
                       problems=[{"field": field, "reason": reason} for field in withheld])
    return config


@router.post("/v1/workspaces/{ws}/destinations/{destination_id}/test", responses={400: {}, 429: {}},
             openapi_extra=PARTIAL_BODY)
def test_saved_destination(ws: Workspace, destination_id: str, body: dict[str, Any] = DestinationBody, *,
                           redis: RedisDep, settings: SettingsDep) -> Any:
    """The connection test of a saved destination with a PATCH body applied, using its stored secrets; saves
    nothing."""
    config = patched(owned(redis, settings, ws, destination_id), body)
    try:
        done = run_test(config, settings, redis, ws)
    except TestFailed as exc:
        return failed(exc)
    return {"ok": True, **done}


@router.patch("/v1/workspaces/{ws}/destinations/{destination_id}", responses={400: {}, 429: {}},
              openapi_extra=PARTIAL_BODY)
def patch_destination(ws: Workspace, destination_id: str, body: dict[str, Any] = DestinationBody, *,
                      redis: RedisDep, settings: SettingsDep, outbox: OutboxDep, announce: AnnounceDep) -> Any:
    current = owned(redis, settings, ws, destination_id)
    config = patched(current, body)
    reconnect = bool(current.CONNECTION & current.touched(body))
    if reconnect:
        try:
            run_test(config, settings, redis, ws)
        except TestFailed as exc:
            return failed(exc)
    destination = saved(config, id=current.id, workspace=ws, created_at=current.created_at,
                        redaction_key=current.redaction_key)
    store.save_destination(redis, destination=destination, secret_key=settings.secret_key.get_secret_value(),
                           action="destination.updated", changed=changed_fields(current, config))
    if reconnect:
        outbox.resume(destination_id)
        announce(destination_id, [])
    return destination.public()


@router.delete("/v1/workspaces/{ws}/destinations/{destination_id}", status_code=204)
def delete_destination(ws: Workspace, destination_id: str, redis: RedisDep, settings: SettingsDep,
                       outbox: OutboxDep) -> Response:
    destination = owned(redis, settings, ws, destination_id)
    store.delete_destination(redis, destination=destination)
    outbox.forget(destination_id)
    return Response(status_code=204)
