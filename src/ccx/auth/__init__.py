"""API keys, roles and the authorisation policy."""

from ccx.auth.errors import AuthError, InvalidKeyRequestError, KeyNotFoundError
from ccx.auth.types import ORG_SCOPED_ROLES, ApiKey, IssuedKey, Principal, Role

__all__ = [
    "ORG_SCOPED_ROLES",
    "ApiKey",
    "AuthError",
    "InvalidKeyRequestError",
    "IssuedKey",
    "KeyNotFoundError",
    "Principal",
    "Role",
]
