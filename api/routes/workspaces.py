"""Workspaces and their ingest keys."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from api.deps import Admin, RedisDep, Workspace
from api.errors import ApiError
from worker import store

router = APIRouter(tags=["workspaces"], dependencies=[Admin])


class WorkspaceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    broadcast_enabled: bool = Field(description="Deliver this workspace's traces to its destinations.")


class IngestKeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)


def existing(redis: RedisDep, workspace: str) -> dict[str, Any]:
    found = store.get_workspace(redis, workspace=workspace)
    if found is None:
        raise ApiError(404, "not_found", f"workspace {workspace!r} does not exist")
    return found


@router.put("/v1/workspaces/{ws}", responses={201: {}, 200: {}})
def put_workspace(ws: Workspace, body: WorkspaceIn, redis: RedisDep, response: Response) -> dict[str, Any]:
    data, created = store.put_workspace(redis, workspace=ws, broadcast_enabled=body.broadcast_enabled)
    response.status_code = 201 if created else 200
    return data


@router.get("/v1/workspaces")
def list_workspaces(redis: RedisDep) -> dict[str, Any]:
    return {"workspaces": store.list_workspaces(redis)}


@router.get("/v1/workspaces/{ws}")
def get_workspace(ws: Workspace, redis: RedisDep) -> dict[str, Any]:
    return existing(redis, ws)


@router.post("/v1/workspaces/{ws}/ingest-keys", status_code=201)
def create_key(ws: Workspace, body: IngestKeyIn, redis: RedisDep) -> dict[str, Any]:
    existing(redis, ws)
    public, key = store.create_ingest_key(redis, workspace=ws, name=body.name)
    return {**public, "key": key}


@router.get("/v1/workspaces/{ws}/ingest-keys")
def list_keys(ws: Workspace, redis: RedisDep) -> dict[str, Any]:
    existing(redis, ws)
    return {"ingest_keys": store.list_ingest_keys(redis, workspace=ws)}


@router.delete("/v1/workspaces/{ws}/ingest-keys/{key_id}", status_code=204)
def revoke_key(ws: Workspace, key_id: str, redis: RedisDep) -> Response:
    if not store.revoke_ingest_key(redis, workspace=ws, key_id=key_id):
        raise ApiError(404, "not_found", f"ingest key {key_id!r} does not exist")
    return Response(status_code=204)


@router.get("/v1/workspaces/{ws}/audit")
def audit(ws: Workspace, redis: RedisDep) -> dict[str, Any]:
    existing(redis, ws)
    return {"events": store.audit_log(redis, workspace=ws)}
