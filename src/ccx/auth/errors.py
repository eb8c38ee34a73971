"""Operating errors of authentication."""

from __future__ import annotations


class AuthError(Exception):
    """Base; the message is meant for the user."""


class InvalidKeyRequestError(AuthError):
    pass


class KeyNotFoundError(AuthError):
    pass
