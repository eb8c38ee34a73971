"""What routes receive: the application context and the authenticated principal.

A key is sent as `Authorization: Bearer <token>` or as `X-API-Key: <token>`. Which principal
may do what is decided only by `ccx.auth.policy`; the aliases below name those rules.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from ccx.api.errors import ApiError
from ccx.api.metrics import ApiMetrics
from ccx.auth import Principal, policy
from ccx.auth.queries import authenticate
from ccx.clock import Clock
from ccx.config import Settings
from ccx.db import Database

_CHALLENGE = {"WWW-Authenticate": "Bearer"}


@dataclass(frozen=True, slots=True)
class ApiContext:
    """What the routes of one application share (kept on `app.state.context`)."""

    settings: Settings
    database: Database
    clock: Clock
    metrics: ApiMetrics


def get_context(request: Request) -> ApiContext:
    context = request.app.state.context
    assert isinstance(context, ApiContext)
    return context


Context = Annotated[ApiContext, Depends(get_context)]

_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer <token>`.")
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="An API key.")


def get_principal(
    context: Context,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    api_key: Annotated[str | None, Depends(_api_key)],
) -> Principal:
    """The caller named by the request's API key; 401 when there is none or it is not valid."""
    token = bearer.credentials if bearer is not None else api_key
    if not token:
        raise ApiError(
            401,
            "not_authenticated",
            "send an API key as 'Authorization: Bearer <token>' or 'X-API-Key: <token>'",
            headers=_CHALLENGE,
        )
    with context.database.read() as session:
        principal = authenticate(session, token)
    if principal is None:
        raise ApiError(
            401, "invalid_api_key", "the API key is unknown or revoked", headers=_CHALLENGE
        )
    return principal


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def requires(rule: Callable[[Principal], bool]) -> Callable[[Principal], Principal]:
    """A dependency that answers 403 unless `rule` (a `ccx.auth.policy` function) allows."""

    def allowed_principal(principal: CurrentPrincipal) -> Principal:
        if not rule(principal):
            raise forbidden(f"a {principal.role.value} key may not do this")
        return principal

    return allowed_principal


def forbidden(message: str) -> ApiError:
    return ApiError(403, "forbidden", message)


LedgerManager = Annotated[Principal, Depends(requires(policy.can_manage_ledgers))]
TransferWriter = Annotated[Principal, Depends(requires(policy.can_create_transfers))]
IntegrityReader = Annotated[Principal, Depends(requires(policy.can_read_ledger_integrity))]


def owner_scope(principal: Principal) -> int | None:
    """The organisation whose accounts a principal may list; None means every organisation."""
    if policy.can_read_everything(principal):
        return None
    if principal.org_id is None:
        raise forbidden(f"a {principal.role.value} key without an organisation may not list")
    return principal.org_id
