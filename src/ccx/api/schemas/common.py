"""Bodies shared by every route: the error shape and the health answer."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ErrorInfo(BaseModel):
    code: str = Field(description="Stable machine-readable code, e.g. `exceeds_credits`.")
    message: str = Field(description="What went wrong, for people.")
    details: Any = Field(default=None, description="More about the error, when there is more.")


class ErrorBody(BaseModel):
    """Every error answer has this shape."""

    error: ErrorInfo


class Health(BaseModel):
    status: str = Field(description="`ok` when the service can reach its database.")
