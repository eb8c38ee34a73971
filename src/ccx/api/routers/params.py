"""Path and query parameters shared by the list and read routes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Protocol

from fastapi import Path, Query

from ccx.ids import ID_MAX
from ccx.ledger.queries import PAGE_SIZE_MAX

PAGE_SIZE_DEFAULT = 100

IdPath = Annotated[int, Path(ge=1, le=ID_MAX)]
AfterId = Annotated[
    int, Query(ge=0, le=ID_MAX, description="Only ids above this (the previous page's last id).")
]
Limit = Annotated[int, Query(ge=1, le=PAGE_SIZE_MAX, description="Most items in one page.")]


class _HasId(Protocol):
    @property
    def id(self) -> int: ...


def next_after_id(page: Sequence[_HasId], limit: int) -> int | None:
    """Where the next page starts; None when this page is the last (it is not full)."""
    return page[-1].id if len(page) == limit else None
