"""Errors answered by the API, all in one shape: ``{"error": {"code", "message", ...}}``."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from redis.exceptions import RedisError

from api.responses import OrjsonResponse
from worker.errors import field_problems


class ApiError(Exception):
    """An answer other than success: ``status`` with ``{"error": {"code", "message", **extra}}``."""

    def __init__(self, status: int, code: str, message: str, *, headers: dict[str, str] | None = None,
                 **extra: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers, self.extra = status, code, message, headers, extra


def invalid(errors: Iterable[Mapping[str, Any]], *, code: str = "invalid_request",
            known: Collection[str] = ()) -> ApiError:
    """A 422 whose message and ``problems`` name every refused field (and the ``known`` one an unknown one is like)."""
    found = field_problems(errors, known=known)
    message = "; ".join(f"{p['field']}: {p['reason']}" for p in found)
    return ApiError(422, code, message, problems=found)


def answer(request: Request, exc: ApiError) -> OrjsonResponse:
    body = {"error": {"code": exc.code, "message": exc.message, **exc.extra}}
    request.scope.setdefault("log", {})["error"] = exc.code  # api/access_log.py: the code, never the message
    return OrjsonResponse(body, status_code=exc.status, headers=exc.headers)


def store_unavailable() -> OrjsonResponse:
    body = {"error": {"code": "store_unavailable", "message": "Redis is unreachable or full; nothing was stored"}}
    return OrjsonResponse(body, status_code=503, headers={"Retry-After": "5"})


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> OrjsonResponse:
        return answer(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> OrjsonResponse:
        return answer(request, invalid(exc.errors()))

    @app.exception_handler(RedisError)
    async def _redis_down(request: Request, exc: RedisError) -> OrjsonResponse:
        return store_unavailable()
