"""One error shape for every answer that is not a success.

    {"error": {"code": "<stable code>", "message": "<for people>", "details": ...}}

Validation failures (malformed JSON included) answer 422; HTTP errors keep their status; an
unreachable or overloaded database answers 503; a bug answers 500 with the same shape and no
internals (the server logs the traceback).
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Coroutine, Mapping
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException

from ccx.api.schemas.common import ErrorBody

logger = logging.getLogger(__name__)

_ROUTING_CODES = {404: "not_found", 405: "method_not_allowed"}
"""Codes of the errors the framework raises itself (no route, no such method)."""
_DESCRIPTIONS = {
    401: "No API key, or an unknown or revoked one.",
    403: "The key's role or organisation may not do this.",
    404: "Not found.",
    409: "Conflicts with what exists (same id, other fields).",
    422: "The request is malformed or was rejected by the ledger.",
    503: "The database is unreachable or busy; the request may be retried.",
}
CONFLICT_RESULTS = frozenset({"exists_with_different_fields", "id_already_failed"})
"""Result codes that conflict with an earlier request with the same id (409)."""

_Handler = Callable[[Request, Any], Coroutine[Any, Any, Response]]


class ApiError(HTTPException):
    """An error answer with its own code; routes raise it, the handler renders it."""

    def __init__(
        self,
        status_code: int,
        code: str,
        message: str,
        *,
        details: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(status_code=status_code, detail=message, headers=headers)
        self.code = code
        self.details = details


def _error_response(
    status_code: int,
    code: str,
    message: str,
    *,
    details: Any = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    error: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        error["details"] = details
    return JSONResponse({"error": error}, status_code=status_code, headers=headers)


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI descriptions of the error answers a route may give."""
    return {code: {"model": ErrorBody, "description": _DESCRIPTIONS[code]} for code in statuses}


def created_status(kind: str, event_id: int, result: enum.StrEnum) -> int:
    """201 for `ok`, 200 for `exists`; any other ledger result raises its error answer."""
    if result == "ok":
        return 201
    if result == "exists":
        return 200
    status = 409 if result in CONFLICT_RESULTS else 422
    message = f"{kind} {event_id} was not created: {result.value.replace('_', ' ')}"
    raise ApiError(status, result.value, message, details={"id": event_id})


async def _http_error(_request: Request, exc: HTTPException) -> JSONResponse:
    if isinstance(exc, ApiError):
        code, details = exc.code, exc.details
    elif exc.status_code == 400:
        # FastAPI's answer to a body it cannot decode at all (invalid UTF-8, an integer of
        # thousands of digits, nesting too deep): a malformed body like any other.
        return _error_response(422, "malformed_json", "the body could not be decoded as JSON")
    else:
        code, details = _ROUTING_CODES.get(exc.status_code, "http_error"), None
    return _error_response(
        exc.status_code, code, str(exc.detail), details=details, headers=exc.headers
    )


async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
    # The submitted values are left out: they may be large (a whole batch) or secret.
    problems = [
        {"loc": list(error["loc"]), "message": error["msg"], "type": error["type"]}
        for error in exc.errors()
    ]
    if any(problem["type"] == "json_invalid" for problem in problems):
        code, message = "malformed_json", "the body is not valid JSON"
    else:
        code, message = "invalid_request", "the request is not valid"
    return _error_response(422, code, message, details=problems)


async def _database_unavailable(request: Request, exc: OperationalError) -> JSONResponse:
    logger.warning("%s %s: database unavailable: %s", request.method, request.url.path, exc.orig)
    return _error_response(
        503, "database_unavailable", "the database is unreachable or busy; try again"
    )


async def _internal_error(_request: Request, _exc: Exception) -> JSONResponse:
    return _error_response(500, "internal_error", "an internal error occurred")


def exception_handlers() -> dict[int | type[Exception], _Handler]:
    return {
        HTTPException: _http_error,
        RequestValidationError: _validation_error,
        OperationalError: _database_unavailable,
        Exception: _internal_error,
    }
