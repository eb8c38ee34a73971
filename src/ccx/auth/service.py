"""API key writes: issue and revoke."""

from __future__ import annotations

import secrets

from sqlalchemy.orm import Session

from ccx.auth.errors import InvalidKeyRequestError, KeyNotFoundError
from ccx.auth.models import ApiKeyRow
from ccx.auth.queries import key_from_row, secret_digest
from ccx.auth.types import ORG_SCOPED_ROLES, ApiKey, IssuedKey, Role
from ccx.clock import Clock

TOKEN_PREFIX = "ccx"
LABEL_LENGTH_MAX = 200


def create_api_key(
    session: Session, *, role: Role, org_id: int | None, label: str, clock: Clock
) -> IssuedKey:
    """Issue a key. Firm and integrator keys must name their organisation."""
    if role in ORG_SCOPED_ROLES and org_id is None:
        raise InvalidKeyRequestError(f"a {role.value} key needs an organisation (--org)")
    if org_id is not None and org_id <= 0:
        raise InvalidKeyRequestError("an organisation id is a positive integer")
    if len(label) > LABEL_LENGTH_MAX:
        raise InvalidKeyRequestError(f"a label has at most {LABEL_LENGTH_MAX} characters")
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    row = ApiKeyRow(
        key_id=key_id,
        secret_sha256=secret_digest(secret),
        role=role.value,
        org_id=org_id,
        label=label,
        created_at_ns=clock.now_ns(),
        revoked=False,
    )
    session.add(row)
    session.flush()
    return IssuedKey(key=key_from_row(row), token=f"{TOKEN_PREFIX}_{key_id}_{secret}")


def revoke_api_key(session: Session, key_id: str) -> ApiKey:
    row = session.get(ApiKeyRow, key_id)
    if row is None:
        raise KeyNotFoundError(f"no API key {key_id!r}")
    row.revoked = True
    session.flush()
    return key_from_row(row)
