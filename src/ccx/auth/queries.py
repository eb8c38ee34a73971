"""API key reads: authenticate a token, list keys."""

from __future__ import annotations

import hashlib
import hmac

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ccx.auth.models import ApiKeyRow
from ccx.auth.types import ApiKey, Principal, Role

TOKEN_LENGTH_MAX = 128
KEYS_LIST_MAX = 1_000


def secret_digest(secret: str) -> bytes:
    """Secrets are 256-bit random strings, so one SHA-256 suffices (no password stretching)."""
    return hashlib.sha256(secret.encode()).digest()


def key_from_row(row: ApiKeyRow) -> ApiKey:
    return ApiKey(
        key_id=row.key_id,
        role=Role(row.role),
        org_id=row.org_id,
        label=row.label,
        created_at_ns=row.created_at_ns,
        revoked=row.revoked,
    )


def authenticate(session: Session, token: str) -> Principal | None:
    """The principal a token stands for, or None (unknown, malformed or revoked)."""
    if len(token) > TOKEN_LENGTH_MAX:
        return None
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != "ccx":
        return None
    _, key_id, secret = parts
    row = session.get(ApiKeyRow, key_id)
    if row is None or row.revoked:
        return None
    if not hmac.compare_digest(row.secret_sha256, secret_digest(secret)):
        return None
    return Principal(key_id=row.key_id, role=Role(row.role), org_id=row.org_id)


def list_api_keys(session: Session) -> list[ApiKey]:
    rows = session.scalars(
        sa.select(ApiKeyRow).order_by(ApiKeyRow.created_at_ns).limit(KEYS_LIST_MAX)
    )
    return [key_from_row(row) for row in rows]
